"""Faults inside the runtime: an engine that fails for one user (quarantine, no recursion),
and the dead letters that keep a stream moving."""

from __future__ import annotations

import datetime as dt
import threading

import pandas as pd
import pytest
from runtime_helpers import (  # noqa: F401 - fixture
    END,
    START,
    SteppedWallClock,
    cohort,
    db_url,
    profiles_of,
    rows,
    wait_until,
)

from journeylab import examples
from journeylab.model import Action, Delay, Journey, Webhook
from journeylab.runtime import ReplayClock, Runtime
from journeylab.sim.replay import event_inputs

T0 = int(START.timestamp())
END_S = int(END.timestamp()) - 1


class FailingTimers:
    """A test double of the engine's JourneySet: the timers of one user raise from ``after`` on
    (in ``advance``, and in ``deliver`` when the input would run due timers first)."""

    def __init__(self, js, user: str, after: int) -> None:
        self._js, self.user, self.after = js, user, after
        self.raised = 0

    def __getattr__(self, name):
        return getattr(self._js, name)

    def _check(self, states, t: int) -> None:
        st = next(iter(states.values()))
        if st.user_id == self.user and t >= self.after:
            nw = self._js.next_wake(states)
            if nw is not None and nw <= t:
                self.raised += 1
                raise ZeroDivisionError(f"injected failure in the timers of {self.user}")

    def advance(self, states, t, out):
        self._check(states, t)
        return self._js.advance(states, t, out)

    def deliver(self, states, inp, out):
        self._check(states, inp.ts)
        return self._js.deliver(states, inp, out)


def _setup():
    prof, ev = cohort(n=60, per_user=20, seed=3)
    ev = ev[ev["ts"] < END]
    bad = ev["user_id"].value_counts().index[0]  # the busiest user
    journeys = [examples.cart_abandonment().definition, examples.purchase_promo(reentry=True).definition]
    return journeys, profiles_of(prof), ev, bad


def _runtime(journeys, url, profiles):
    return Runtime(journeys, url, clock=ReplayClock(START), profiles=profiles, created=START - pd.Timedelta(days=30))


def _without(trace_rows, user):
    return [r for r in trace_rows if r[0] != user]


@pytest.mark.parametrize("mode", ["replay", "live"])
def test_a_user_whose_timers_fail_is_quarantined_and_everyone_else_goes_on(mode, db_url, tmp_path):  # noqa: F811
    journeys, profiles, ev, bad = _setup()
    inputs = event_inputs(ev)
    # the run without that user
    ref = _runtime(journeys, f"sqlite:///{tmp_path / 'ref.db'}", {k: v for k, v in profiles.items() if k != bad})
    ref.replay([i for i in inputs if i.user_id != bad], until=END_S, batch=200)
    expected = rows(ref.trace())
    ref.close()

    rt = _runtime(journeys, db_url, profiles)
    failing = FailingTimers(rt.js, bad, T0 + 3 * 86400)
    rt.js = failing
    if mode == "replay":
        rt.replay(inputs, until=END_S, batch=200)  # several inputs of the user in one transaction
    else:
        for inp in inputs:  # the live API: the clock moves, timers fire, one input per transaction
            rt.advance_to(inp.ts)
            rt.ingest(inp) if inp.user_id != bad else _ingest_refused(rt, inp)
        rt.advance_to(END_S)
    assert failing.raised >= 1
    got = rows(rt.trace())
    assert _without(got, bad) == expected
    assert max(r[1] for r in got if r[0] == bad) < T0 + 3 * 86400 + 86400  # the user stopped where it failed
    assert list(rt.quarantined()) == [bad]
    rej = rt.rejected()
    assert set(rej["kind"]) == {"error", "quarantined"}
    err = rej[rej["kind"] == "error"]
    assert (
        len(err) == 1
        and "ZeroDivisionError: injected failure" in err["reason"].iloc[0]
        and err["source"].iloc[0] == "timers"
    )
    later = [i for i in inputs if i.user_id == bad and i.ts >= rt.quarantined()[bad]["clock"]]
    q = rej[rej["kind"] == "quarantined"]
    assert len(q) == len(later) > 0  # every later input of the user is a dead letter, with the reason
    assert all(bad in r and "quarantined" in r for r in q["reason"])
    h = rt.health()
    assert h["quarantined"] == 1 and h["errors"] == 1 and h["status"] == "ok"
    # the outbox holds no message for the user after the failure, and every other message
    assert not [m for m in rt.outbox.rows() if m["user_id"] == bad and m["ts"] >= rt.quarantined()[bad]["clock"]]
    # released (the engine fixed), the user's timers are due again
    rt.js = failing._js
    assert rt.release(bad) and rt.quarantined() == {}
    rt.advance_to(END_S)
    assert rt.health()["quarantined"] == 0
    rt.close()


def _ingest_refused(rt, inp):
    from journeylab.runtime import InputError

    try:
        rt.ingest(inp)
    except InputError as e:
        assert e.path == "$.user_id" and "quarantined" in e.message


def test_the_wall_clock_timer_loop_quarantines_a_failing_user_and_keeps_firing(tmp_path):
    """The timer loop of ``run_forever`` in its thread, on a wall clock the test sets
    (``SteppedWallClock``): the delays fall due when the test moves the clock, and the test
    waits for what the loop did."""
    j = Journey("Hook", id="hook")
    j.add(Action(id="go", event="Go"))
    j.then("go", "yes", Delay(id="wait", duration=dt.timedelta(seconds=1)))
    j.then("wait", "next", Webhook(id="call", content={"t": "x"}))
    now = T0 + 7200
    clock = SteppedWallClock(now)
    rt = Runtime([j.definition], tmp_path / "rt.db", clock=clock)
    rt.js = FailingTimers(rt.js, "bad", 0)
    th = threading.Thread(target=rt.run_forever, kwargs={"tick": 0.05}, daemon=True)
    th.start()
    try:
        rt.ingest({"user_id": "bad", "event": "Go", "ts": now})
        rt.ingest({"user_id": "good", "event": "Go", "ts": now})
        clock.t = now + 1  # both delays are due
        assert wait_until(lambda: rt.outbox.rows() and rt.quarantined())
        assert [m["user_id"] for m in rt.outbox.rows()] == ["good"]
        assert list(rt.quarantined()) == ["bad"]
        rt.ingest({"user_id": "late", "event": "Go", "ts": now + 1})
        clock.t = now + 2
        assert wait_until(lambda: len(rt.outbox.rows()) >= 2)
        assert sorted(m["user_id"] for m in rt.outbox.rows()) == ["good", "late"]
        assert th.is_alive()
    finally:
        rt.shutdown()
        th.join(5)
        rt.close()


class FailingInput:
    """A test double of the engine's JourneySet whose ``deliver`` raises for one input."""

    def __init__(self, js, inp) -> None:
        self._js, self.inp = js, inp
        self.raised = 0

    def __getattr__(self, name):
        return getattr(self._js, name)

    def deliver(self, states, inp, out):
        if inp == self.inp:
            self.raised += 1
            raise ZeroDivisionError("injected failure of one input")
        return self._js.deliver(states, inp, out)


def test_a_unit_redone_after_an_engine_failure_replays_from_where_it_started(tmp_path):
    """The replay clock is put back when a unit is rolled back: the redone unit fires each
    timer between the inputs where it belongs, not all of them before the first input."""
    journeys, profiles, ev, _ = _setup()
    inputs = event_inputs(ev)
    bad = inputs[len(inputs) * 3 // 4]
    ref = _runtime(journeys, f"sqlite:///{tmp_path / 'ref.db'}", profiles)
    ref.replay([i for i in inputs if i != bad], until=END_S, batch=10_000)
    expected = rows(ref.trace())
    ref.close()
    rt = _runtime(journeys, f"sqlite:///{tmp_path / 'rt.db'}", profiles)
    rt.js = FailingInput(rt.js, bad)
    rt.replay(inputs, until=END_S, batch=10_000)  # one unit: the failure comes late in it
    assert rt.js.raised == 1
    rt.js = rt.js._js
    assert rows(rt.trace()) == expected
    err = rt.rejected()
    assert err["kind"].tolist() == ["error"] and "injected failure of one input" in err["reason"][0]
    rt.close()
