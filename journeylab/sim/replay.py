"""Replay a simulation's inputs through another driver (parity checks, production runtime).

:func:`replay_inputs` turns a cohort and a result's recorded responses into the exact
time-ordered stream of engine inputs the simulator used: at one instant, cohort events in
input order first, then the simulated responses in the order they were drawn.
"""

from __future__ import annotations

from typing import Any, cast

import pandas as pd

from journeylab.engine.types import Event, Feedback, FeedbackKind, Input
from journeylab.trace import epoch_seconds

__all__ = ["replay_inputs", "event_inputs"]


def event_inputs(events: pd.DataFrame, props: list[str] | None = None) -> list[Event]:
    """Engine events from an events table (``user_id, ts, event`` and property columns)."""
    ts = epoch_seconds(events["ts"]).tolist()
    cols = (
        props if props is not None else [c for c in events.columns if c not in ("user_id", "ts", "event", "event_id")]
    )
    values = {c: events[c].to_numpy(dtype=object).tolist() for c in cols}
    ids = events["event_id"].astype(str).tolist() if "event_id" in events.columns else None
    out = []
    for i, (u, name) in enumerate(
        zip(events["user_id"].astype(str).tolist(), events["event"].astype(str).tolist(), strict=True)
    ):
        p: dict[str, Any] = {}
        for c in cols:
            v = values[c][i]
            if v is not None and v == v:
                p[c] = v
        out.append(Event(u, ts[i], name, p, ids[i] if ids else None))
    return out


def replay_inputs(events: pd.DataFrame, responses: pd.DataFrame | None = None) -> list[Input]:
    """Cohort events and recorded responses merged in the simulator's order."""
    evs = event_inputs(events)
    if responses is None or responses.empty:
        return list(evs)  # typed as a list of inputs (a list[Event] is not a list[Input])
    rts = epoch_seconds(responses["ts"]).tolist()
    resp: list[Input] = []
    for i, row in enumerate(responses.itertuples(index=False)):
        if row.kind == "event":
            props = getattr(row, "props", None)
            resp.append(Event(str(row.user_id), rts[i], str(row.event), dict(props) if isinstance(props, dict) else {}))
        else:
            # a result's responses are feedback of the kinds the simulator draws, or events
            resp.append(Feedback(str(row.user_id), rts[i], str(row.message_id), cast(FeedbackKind, row.kind)))
    keyed: list[tuple[tuple[int, int, int], Input]] = [((e.ts, 0, i), e) for i, e in enumerate(evs)]
    seqs = responses["seq"].tolist()
    keyed += [((r.ts, 1, seqs[i]), r) for i, r in enumerate(resp)]
    keyed.sort(key=lambda x: x[0])
    return [x[1] for x in keyed]
