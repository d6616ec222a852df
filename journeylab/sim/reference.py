"""The reference driver with the simulator's shape: the same arguments, the same result.

:func:`reference` runs journeys over a cohort through :class:`~journeylab.engine.ReferenceDriver`
(a heap of per-user wake-ups, no SimPy, no behaviour model): the simplest correct driver, the
yardstick every other driver is compared with. It takes what :func:`~journeylab.sim.simulate`
takes — journeys, a cohort, ``start``/``end`` as Timestamps, ISO strings or epoch seconds, the
half-open span ``[start, end)``, lifecycle changes, custom lists, a seed — and returns a
:class:`~journeylab.sim.SimulationResult` with the same trace schema and statistics.

Messages get no simulated response here; give ``responses`` to replay some: a table with
``user_id``, ``ts``, ``kind`` (``viewed``, ``clicked``, ``delivered`` or ``event``) and either a
``message_id`` or the ``node`` that sent the message (its latest message to the user), plus
``event`` for event rows — e.g. a simulation's own ``result.responses`` to reproduce it exactly.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from journeylab.engine.multi import JourneySet
from journeylab.engine.reference import ReferenceDriver, canonical
from journeylab.engine.types import FEEDBACK_KINDS, Event, Feedback, Input
from journeylab.errors import CohortError
from journeylab.sim.prepare import session_heads
from journeylab.sim.replay import event_inputs
from journeylab.sim.result import SimulationResult, changes_frame
from journeylab.sim.simulator import (
    _load_lists,
    as_cohort,
    as_definitions,
    lifecycle_controls,
    resolve_span,
)
from journeylab.trace import epoch_seconds, records_to_frame, sends_frame
from journeylab.validate import check_journeys

__all__ = ["reference"]


def reference(
    journeys: Any,
    cohort: Any,
    start: Any = None,
    end: Any = None,
    *,
    seed: int = 0,
    lifecycle: dict[str, list[tuple[Any, str]]] | None = None,
    custom_lists: dict[str, dict[str, Any]] | None = None,
    responses: pd.DataFrame | None = None,
    validate: bool = True,
    policy: Any = None,
) -> SimulationResult:
    """Run journeys over a cohort through the reference driver (one user at a time, in order).

    The reference driver is the plain reading of the engine's rules the other drivers are
    tested against; see the module docstring.

    Parameters
    ----------
    %(run)s
    seed : int, default 0
        The seed of the Split draws.
    %(inputs)s
    responses : pandas.DataFrame or None, default None
        Responses to replay (``result.responses`` of a simulation): views, clicks and
        goal-lift events; default none.
    %(validate)s
    %(policy)s

    Returns
    -------
    SimulationResult
        The trace and statistics of the run.

    %(raises)s

    Examples
    --------
    >>> import pandas as pd
    >>> from journeylab.examples import purchase_promo
    >>> profiles = pd.DataFrame({"user_id": ["ana", "bo"], "push_token": ["t1", None]})
    >>> events = pd.DataFrame({"user_id": ["ana", "bo"], "event": ["Charged", "Charged"],
    ...                        "ts": pd.to_datetime(["2026-10-01 09:00", "2026-10-01 10:00"], utc=True)})
    >>> res = reference(purchase_promo(), (profiles, events), "2026-10-01T00:00Z", 1790899200)
    >>> res.node_stats[["entered", "sent", "discarded_unreachable"]].loc["promo"].tolist()
    [2, 1, 1]
    """
    defs = as_definitions(journeys)
    if validate:
        check_journeys(defs, stacklevel=3)
    c = as_cohort(cohort)
    ev = c.events
    first = ev["ts"].min() if len(ev) else None
    last = ev["ts"].max() if len(ev) else None
    start_ts, end_ts = resolve_span(start, end, first, last)
    s0, e0 = int(start_ts.timestamp()), int(end_ts.timestamp())
    controls = lifecycle_controls(defs, s0, lifecycle)
    lists = _load_lists(defs, custom_lists)
    js = JourneySet(defs, policy=policy)
    secs = epoch_seconds(ev["ts"])
    lo = s0 - js.inputs.lead
    keep = (secs >= lo) & (secs < e0)
    if js.session_events:  # sessions still open at lo: their earlier page views too
        keep[
            session_heads(
                ev["user_id"], secs, ev["event"].isin(js.session_events).to_numpy() & (secs < e0), lo, js.session_gap
            )
        ] = True
    if js.lasting_events:  # consent changes, however long ago
        keep |= ev["event"].isin(js.lasting_events).to_numpy() & (secs < e0)
    window = ev[keep]
    # user clocks start where the history that matters starts
    first = int(secs[keep].min()) if keep.any() else lo
    drv = ReferenceDriver(
        defs,
        controls=controls,
        profiles=_profiles(c.profiles),
        created=min(lo, first),
        seed=seed,
        custom_lists=lists,
        validate=False,
        policy=policy,
    )
    drv.feed(_merge(event_inputs(window), _responses(responses, lo, e0)))
    drv.run_until(e0 - 1)
    sends = sends_frame(tuple(s)[:7] for s in drv.sends)
    return SimulationResult(
        trace=records_to_frame(canonical(drv.trace)),
        journeys=defs,
        start=start_ts,
        end=end_ts,
        seed=seed,
        cohort_name=getattr(c, "name", "cohort"),
        n_users=getattr(c, "n_users", 0),
        sends=sends,
        responses=responses.copy() if responses is not None else pd.DataFrame(),
        profile_changes=changes_frame([tuple(x) for x in drv.profile_changes]),
        profiles=c.profiles,
    )


def _profiles(profiles: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """Profile dicts by user id, missing values left out (as every driver reads them)."""
    out: dict[str, dict[str, Any]] = {}
    cols = [c for c in profiles.columns if c != "user_id"]
    for row in profiles.itertuples(index=False, name=None):
        d = dict(zip(["user_id", *cols], row, strict=True))
        uid = str(d.pop("user_id"))
        out[uid] = {k: v for k, v in d.items() if v is not None and v == v}
    return out


def _responses(responses: pd.DataFrame | None, lo: int, hi: int) -> list[Input]:
    """Engine inputs of a responses table (rows outside ``[lo, hi)`` are left out)."""
    if responses is None or responses.empty:
        return []
    missing = {"user_id", "ts", "kind"} - set(responses.columns)
    if missing:
        raise CohortError(f"a responses table needs the column(s) {sorted(missing)}", "responses")
    ts = epoch_seconds(pd.to_datetime(responses["ts"], utc=True)).tolist()
    out: list[Input] = []
    for i, row in enumerate(responses.to_dict("records")):
        if not lo <= ts[i] < hi:
            continue
        uid, kind = str(row["user_id"]), str(row["kind"])
        if kind == "event":
            props = row.get("props")
            out.append(Event(uid, ts[i], str(row["event"]), dict(props) if isinstance(props, dict) else {}))
            continue
        if kind not in FEEDBACK_KINDS:
            raise CohortError(
                f"kind must be {', '.join(FEEDBACK_KINDS)} or event, not {kind!r}", f"responses[{i}].kind"
            )
        mid = row.get("message_id") or ""
        node = row.get("node") or ""
        if not mid and not node:
            raise CohortError("a response names its message: give message_id or node", f"responses[{i}]")
        out.append(Feedback(uid, ts[i], str(mid), kind, str(node), str(row.get("journey") or "")))
    return out


def _merge(events: list[Event], responses: list[Input]) -> list[Input]:
    """Cohort events and responses in time order; at one instant events first, then responses
    in their given order (the simulator's order)."""
    keyed = [((e.ts, 0, i), e) for i, e in enumerate(events)] + [((r.ts, 1, i), r) for i, r in enumerate(responses)]
    keyed.sort(key=lambda x: x[0])
    return [x[1] for x in keyed]
