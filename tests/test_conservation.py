"""Counts add up: at every node of every journey, entered = waiting + left by each port + exits
by reason, for traces of the reference driver (random journeys, random event streams) and of
the simulator (random journeys over a random cohort, with one and two workers)."""

from __future__ import annotations

import helpers
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_engine_properties import journeys, run, streams

from journeylab import stats
from journeylab.engine import canonical
from journeylab.sim import simulate
from journeylab.trace import records_to_frame


def _check(trace: pd.DataFrame, d) -> pd.DataFrame:  # noqa: ANN001
    ns = stats.node_stats(trace, d.id, nodes=[n.id for n in d.nodes])
    c = stats.conservation(ns)
    bad = c[c["unaccounted"] != 0]
    assert bad.empty, f"counts do not add up:\n{bad}\n{ns.T}"
    # the exits counted at nodes are every exit that did not follow a port
    ex = trace[trace["event"].astype(str) == "exited"]
    assert int(ns[[f"exited_{r}" for r in stats.EXIT_REASONS]].to_numpy().sum()) + int(
        (ex["detail"].astype(str) == "completed").sum()
    ) >= len(ex)
    return ns


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(journeys(), streams())
def test_counts_add_up_for_the_reference_driver(j, events) -> None:  # noqa: ANN001
    drv = run(j, events)
    trace = records_to_frame(canonical(drv.trace))
    _check(trace, j)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(journeys())
def test_counts_add_up_for_the_simulator(j) -> None:  # noqa: ANN001
    # the random journeys act on events A, B, C: rename the cohort's events onto them
    prof, ev = helpers.cohort(60, seed=3, per_user=12)
    ev = ev.assign(event=ev["event"].map(dict(zip(helpers.NAMES, ["A", "B", "C", "A", "B", "C"], strict=True))))
    prof = prof.assign(count=1)
    # the identity holds for any journey the model can express, valid or not
    res = simulate(j, (prof, ev), helpers.START, helpers.END, seed=2, workers=1, validate=False)
    ns = _check(res.trace, j)
    assert int(ns["entered"].sum()) == int((res.trace["event"].astype(str) == "entered").sum())


def test_counts_add_up_on_the_bundled_examples() -> None:
    prof, ev = helpers.cohort(300, seed=1)
    for name, make in helpers.JOURNEYS.items():
        js = make()
        res = simulate(js, (prof, ev), helpers.START, helpers.END, seed=1)
        for d in js:
            d = getattr(d, "definition", d)
            ns = _check(res.trace, d)
            assert ns["entered"].sum() > 0 or name == "trigger_pair", name


def test_counts_add_up_for_the_production_runtime(tmp_path) -> None:  # noqa: ANN001
    """The runtime (SQLite, replay clock) fed a cohort's events and a simulation's responses:
    its own statistics (``Runtime.stats``) add up at every node."""
    from journeylab import examples
    from journeylab.runtime import ReplayClock, Runtime
    from journeylab.sim.replay import replay_inputs

    d = examples.cart_abandonment().definition
    prof, ev = helpers.cohort(80, seed=5, per_user=15)
    res = simulate([d], (prof, ev), helpers.START, helpers.END, seed=7)
    profiles = {
        r["user_id"]: {k: v for k, v in r.items() if k != "user_id" and v is not None and v == v}
        for r in prof.to_dict("records")
    }
    rt = Runtime(
        [d],
        f"sqlite:///{tmp_path / 'rt.db'}",
        clock=ReplayClock(helpers.START),
        profiles=profiles,
        created=helpers.START - pd.Timedelta(days=30),
        seed=7,
    )
    rt.replay(replay_inputs(ev[ev["ts"] < helpers.END], res.responses), until=int(helpers.END.timestamp()) - 1)
    ns = rt.stats(d.id).nodes
    assert int(ns["entered"].sum()) > 0
    assert (stats.conservation(ns)["unaccounted"] == 0).all(), ns
    rt.close()


def _plain_direct_exits(rows: list[tuple[int, str]]) -> list[int]:
    """The exits not right after a left of their user (among the moves), by a scan."""
    out, last = [], {}
    for i, (u, e) in enumerate(rows):
        if e == "exited" and last.get(u) != "left":
            out.append(i)
        if e in ("entered", "left", "exited"):
            last[u] = e
    return out


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 4), st.sampled_from(["entered", "left", "exited", "sent", "timed_out"])),
        max_size=60,
    )
)
def test_direct_exits_are_the_exits_not_after_a_left(rows) -> None:  # noqa: ANN001
    """An ``exited`` row counts at its node when the user's move before it (entered, left or
    exited, in trace order) is not a ``left``: the shortcut taken on an engine's trace (every
    left followed at once by a move of its user) and the sort by user agree with a plain scan,
    on traces that have that shape and on any others."""
    import numpy as np

    from journeylab.stats import UserCodes, _direct_exits, _moves

    labels = ["entered", "left", "exited", "sent", "timed_out"]
    # the same rows in an engine's shape: each left followed at once by its user's entry or exit
    shaped = [
        r
        for i, (u, e) in enumerate(rows)
        for r in ([(u, "left"), (u, "exited" if i % 2 else "entered")] if e == "left" else [(u, e)])
    ]
    for trace in (rows, shaped):
        users = np.array([u for u, _ in trace], dtype=np.int64)
        ev = (np.array([labels.index(e) for _, e in trace], dtype=np.int64), labels)
        codes = UserCodes(users)
        assert _direct_exits(ev, codes, _moves(ev, codes)).tolist() == _plain_direct_exits(trace)
