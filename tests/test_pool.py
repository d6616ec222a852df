"""Running parts side by side: on threads of this process (:func:`thread_map`) or in forked
workers (:func:`fork_map`) — results in part order, progress, and errors with their part."""

from __future__ import annotations

import threading
import time

import pytest

from journeylab.sim.pool import fork_map, thread_map


def test_thread_map_runs_part_0_here_and_the_others_beside_it():
    here = threading.current_thread()
    started = threading.Barrier(3, timeout=10)  # all three parts running at once, or it breaks

    def job(k, report):
        started.wait()
        report(k + 1)
        return k, threading.current_thread() is here

    assert thread_map(job, 3) == [(0, True), (1, False), (2, False)]


def test_thread_map_shows_the_slowest_parts_progress_from_the_calling_thread_only():
    here = threading.current_thread()
    shown: list[int] = []

    def show(p):
        assert threading.current_thread() is here
        shown.append(p)

    def job(k, report):
        for p in range(4):
            report(p)
            time.sleep(0.01 * k)  # part 1 lags
        return k

    assert thread_map(job, 2, show) == [0, 1]
    assert shown and shown == sorted(shown) and shown[-1] == 3 and max(shown) <= 3


@pytest.mark.parametrize("failing", [0, 1])
def test_an_error_in_a_thread_stops_the_others_and_is_raised_with_its_part(failing):
    reports = {0: 0, 1: 0}

    def job(k, report):
        if k == failing:
            raise ValueError(f"part {k} broke")
        while reports[k] < 10_000:  # stopped at a report once the other part failed
            reports[k] += 1
            report(reports[k])
            time.sleep(0.001)
        return k

    with pytest.raises(ValueError, match=f"part {failing} broke") as info:
        thread_map(job, 2)
    notes = "\n".join(getattr(info.value, "__notes__", []))
    assert f"in simulation worker {failing} of 2" in notes and ", in job" in notes  # the part's traceback
    assert ("(the calling thread)" in notes) == (failing == 0)
    assert reports[1 - failing] < 10_000  # the other part did not run to its end


def test_fork_map_gives_the_same_list_as_thread_map():
    def job(k, report):
        report(1)
        return [k] * k

    assert fork_map(job, 3) == thread_map(job, 3) == [[], [1], [2, 2]]
