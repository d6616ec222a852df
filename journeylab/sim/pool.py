"""Running a prepared simulation on several cores: users split between forked workers.

Users never share state, so the users ``u % workers == k`` of a :class:`Prepared` run are a
simulation of their own. A standard :class:`~concurrent.futures.ProcessPoolExecutor` with the
``fork`` start method runs parts 1, 2, ... while the calling process runs part 0: the workers
inherit the prepared run copy-on-write (it is never pickled), each runs its loop and returns its
columnar chunk, and the caller merges them with its own (the result is the same for any number
of workers). Progress comes back through a small shared
array; an error in a worker is raised in the caller with the worker's traceback as a note.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
import traceback
import warnings
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, ThreadPoolExecutor, wait
from multiprocessing import get_context
from typing import Any

from journeylab.sim.prepare import Prepared, _no_gc

__all__ = ["run_parts", "fork_map", "thread_map", "auto_workers", "available_cores", "PARALLEL_FROM"]

#: events (or always-present users) from which forking pays off
PARALLEL_FROM = 20_000

# what the forked workers read: set in the parent just before the pool forks them
_JOB: dict[str, Any] = {}


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity where the platform tells it)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def auto_workers(prep: Prepared, batched: bool = False) -> int:
    """Worker processes for a run: the available cores when the run is large enough to gain
    from them and this platform forks cheaply and safely (Linux), else 1.

    A run of the batched engine stays in one process: it moves all users in array steps, and
    a second process saves less than merging the two traces costs (reference journey, 1M
    users: 3.41 s median in one process, 3.55 s with two). The per-user engine spends its time
    in Python per user, so two processes nearly halve it (100k users: 1.45 s -> 0.76 s)."""
    if batched or sys.platform != "linux" or not hasattr(os, "fork"):
        return 1
    if prep.n_events + (prep.n_users if prep.js.needs_all_users else 0) < PARALLEL_FROM:
        return 1
    return min(available_cores(), 8)


def _worker(k: int, parts: int) -> Any:  # pragma: no cover - runs in a forked worker
    """Part ``k`` in a forked worker: the job the parent set before forking."""
    import gc

    gc.disable()  # the worker's objects live until it exits: nothing to collect
    return _annotated(_JOB["job"], k, parts, _JOB["done"])


class _Stopped(Exception):
    """A part told to stop (another part failed): raised from its progress report."""


def _annotated(
    job: Callable[[int, Callable[[int], None]], Any],
    k: int,
    parts: int,
    done: Any,
    show: Any = None,
    stop: threading.Event | None = None,
    caller: str = "process",
) -> Any:
    """``job(k, report)`` with its progress in ``done[k]`` (shown by ``show``: the slowest part's);
    an error says which worker (part 0: the calling process or thread) with its traceback. Once
    ``stop`` is set, the part's next report stops it."""
    try:

        def report(p: int) -> None:
            if stop is not None and stop.is_set():
                raise _Stopped
            done[k] = p
            if show is not None:
                show(min(done))

        return job(k, report)
    except _Stopped:
        raise
    except BaseException as e:
        if stop is not None:
            stop.set()  # the other parts stop at their next report
        here = f" (the calling {caller})" if k == 0 else ""
        e.add_note(f"in simulation worker {k} of {parts}{here}:\n{traceback.format_exc()}")
        raise


def fork_map(
    job: Callable[[int, Callable[[int], None]], Any],
    parts: int,
    show: Callable[[int], None] | None = None,
    meanwhile: Callable[[], None] | None = None,
) -> list[Any]:
    """``[job(k, report) for k in range(parts)]``: part 0 in this process, the others in forked
    workers of a :class:`~concurrent.futures.ProcessPoolExecutor` (``fork`` start method: they
    inherit this process's memory copy-on-write, nothing is pickled on the way in; each result
    comes back pickled). ``report(p)`` tells the part's progress (a period number): ``show``
    gets the slowest part's. ``meanwhile`` runs here while the workers work (an error in it
    stops them); the cyclic garbage collector is paused. An error in a part is raised here with
    the worker's traceback as a note, and the other workers are stopped."""
    ctx = get_context("fork")
    done = ctx.Array("q", [-1] * parts, lock=False)
    _JOB.update(job=job, done=done)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # "fork with threads" (3.12+)
        pool = ProcessPoolExecutor(max_workers=parts - 1, mp_context=ctx)
    ok = False
    try:
        # parts 1.. in forked workers, part 0 here meanwhile (its result is not sent anywhere)
        futures = [pool.submit(_worker, k, parts) for k in range(1, parts)]
        if meanwhile is not None:
            meanwhile()
        with _no_gc():
            own = _annotated(job, 0, parts, done, show)
        pending = set(futures)
        while pending:
            finished, pending = wait(pending, timeout=0.25, return_when=FIRST_EXCEPTION)
            if show is not None:
                show(min(done))
            for f in finished:
                if f.exception() is not None:
                    raise f.exception()  # type: ignore[misc]
        results = [own, *(f.result() for f in futures)]
        ok = True
        return results
    finally:
        _JOB.clear()
        if ok:  # the workers are done: let the pool reap them in the background
            pool.shutdown(wait=False)
        else:  # stop whatever still runs
            procs = list(getattr(pool, "_processes", {}).values())
            pool.shutdown(wait=False, cancel_futures=True)
            for p in procs:
                with contextlib.suppress(Exception):
                    p.kill()
            for p in procs:
                with contextlib.suppress(Exception):
                    p.join(timeout=5)
            time.sleep(0)


def thread_map(
    job: Callable[[int, Callable[[int], None]], Any],
    parts: int,
    show: Callable[[int], None] | None = None,
) -> list[Any]:
    """``[job(k, report) for k in range(parts)]`` on threads of this process: part 0 in the
    calling thread, the others in a :class:`~concurrent.futures.ThreadPoolExecutor`. Nothing is
    copied or pickled either way (the parts' results are this process's objects); the parts run
    side by side where they spend their time in numpy and Arrow, which release the GIL.
    ``report(p)`` and ``show`` as in :func:`fork_map` (``show`` is called from the calling thread
    only). The cyclic garbage collector is paused. An error in a part is raised here with the
    part's traceback as a note, once the other parts have stopped (at their next report).

    >>> thread_map(lambda k, report: k * k, 3)
    [0, 1, 4]
    """
    done = [-1] * parts
    stop = threading.Event()
    errors: list[BaseException] = []
    with _no_gc(), ThreadPoolExecutor(max_workers=max(1, parts - 1), thread_name_prefix="journeylab-part") as pool:
        futures = [pool.submit(_annotated, job, k, parts, done, None, stop) for k in range(1, parts)]
        own = None
        try:
            own = _annotated(job, 0, parts, done, show, stop, caller="thread")
        except _Stopped:
            pass  # (another part failed: its error is raised below)
        except BaseException as e:
            errors.append(e)
        pending = set(futures)
        while pending:
            finished, pending = wait(pending, timeout=0.25, return_when=FIRST_EXCEPTION)
            if show is not None and not stop.is_set():
                show(min(done))
            failed = [f.exception() for f in finished]
            errors += [x for x in failed if x is not None and not isinstance(x, _Stopped)]
    if errors:
        raise errors[0]
    return [own, *(f.result() for f in futures)]


def run_parts(
    prep: Prepared,
    loop_cls: type,
    workers: int,
    show: Callable[[int], None] | None = None,
    meanwhile: Callable[[], None] | None = None,
) -> list[dict[str, Any]]:
    """Run ``loop_cls`` over the prepared run: in this process (``workers == 1``) or over
    ``workers`` forked processes (:func:`fork_map`; the users ``u % workers == k`` are part
    ``k``). ``show`` gets the progress (a period number); ``meanwhile`` runs here while the
    workers work. Returns the chunks, one per part."""

    def part(k: int, report: Callable[[int], None] | None) -> dict[str, Any]:
        loop = loop_cls(prep)
        loop.materialize((k, workers) if workers > 1 else None)
        loop.run(report)
        return loop.chunk()

    if workers > 1:
        return fork_map(part, workers, show, meanwhile)
    if meanwhile is not None:
        meanwhile()
    with _no_gc():
        return [part(0, show)]
