"""One-user preview ("test send"): a journey run for one made-up user, step by step.

:func:`preview` runs a journey through the reference driver (the engine core, nothing else)
for one profile and a few events, and returns a :class:`Preview`: the user's path through the
nodes, every message with its rendered content and its instant, and why the user left. The
widget highlights a preview's path on the canvas (``JourneyBuilder.highlight_path``).

>>> from journeylab.examples import cart_abandonment
>>> p = preview(cart_abandonment(), {"push_token": "t", "email": "a@x", "first_name": "Ana"},
...             [{"event": "Added To Cart", "ts": "2026-10-01T09:00Z"}], "2026-10-01T00:00Z")
>>> p.exit_reason, [(m.node, f"{m.ts:%d %H:%M}") for m in p.messages]
('completed', [('push', '01 09:15'), ('reminder', '03 09:30')])
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

from journeylab.engine.reference import ReferenceDriver
from journeylab.engine.state import Control
from journeylab.engine.types import Event, TraceRecord
from journeylab.errors import JourneyDefinitionError

__all__ = ["preview", "Preview", "Step", "Message"]

PREVIEW_USER = "preview-user"


class Step(NamedTuple):
    """One row of the user's path: at ``ts`` (UTC), ``event`` at ``node`` (``port``, ``detail``).

    Parameters
    ----------
    ts : datetime.datetime
        When (UTC).
    node : str
        The node.
    event : str
        The trace event (``entered``, ``sent``, ``left``, ``exited``...).
    port : str
        The port left by (``left`` rows).
    detail : str
        The detail (channel, exit reason...).

    Examples
    --------
    >>> import datetime as dt
    >>> Step(dt.datetime(2026, 10, 1, tzinfo=dt.timezone.utc), "a", "entered", "", "entry").event
    'entered'
    """

    ts: dt.datetime
    node: str
    event: str
    port: str
    detail: str


class Message(NamedTuple):
    """A message the user was sent: node, channel, instant (UTC) and the rendered content.

    Parameters
    ----------
    ts : datetime.datetime
        When it was sent (UTC).
    node : str
        The engagement node.
    channel : str
        The channel.
    content : dict of str to str
        The content, templates rendered.

    Examples
    --------
    >>> import datetime as dt
    >>> Message(dt.datetime(2026, 10, 1, tzinfo=dt.timezone.utc), "p", "push", {"title": "Hi"}).channel
    'push'
    """

    ts: dt.datetime
    node: str
    channel: str
    content: dict[str, str]


class Preview(NamedTuple):
    """What :func:`preview` returns: one user's path through a journey.

    Parameters
    ----------
    journey : str
        The journey's id.
    steps : list of Step
        The user's trace rows, in order.
    path : list of str
        The nodes visited, in order.
    messages : list of Message
        What was sent, rendered with the profile and the trigger event.
    exit_reason : str or None
        ``goal:<name>``, ``completed``, ``journey_timeout``, ``force_exit`` or ``stopped``;
        None while the user is still inside at ``until``, ``"not entered"`` when the user
        never qualified.
    waiting_at : str or None
        Where the user waits at ``until``, if inside.
    profile : dict
        The user's profile at the end (Profile Updates applied).

    Examples
    --------
    >>> from journeylab.model import Action, Journey
    >>> j = Journey("Hi", id="hi")
    >>> _ = j.add(Action(id="a", event="Signed Up"))
    >>> p = preview(j, {}, [{"event": "Signed Up", "ts": "2026-10-01T09:00Z"}])
    >>> isinstance(p, Preview), p.path
    (True, ['a'])
    """

    journey: str
    steps: list[Step]
    path: list[str]
    messages: list[Message]
    exit_reason: str | None
    waiting_at: str | None
    profile: dict[str, Any]

    def to_frame(self) -> Any:
        """The steps as a DataFrame (``ts, node, event, port, detail``)."""
        import pandas as pd

        return pd.DataFrame(self.steps, columns=list(Step._fields))

    def _repr_html_(self) -> str:
        from html import escape

        rows = "".join(
            f"<tr><td>{s.ts:%Y-%m-%d %H:%M}</td><td>{escape(s.node)}</td><td>{escape(s.event)}</td>"
            f"<td>{escape(s.port)}</td><td>{escape(s.detail)}</td></tr>"
            for s in self.steps
        )
        msgs = "".join(
            f"<li>{m.ts:%Y-%m-%d %H:%M} <b>{escape(m.channel)}</b> ({escape(m.node)}): "
            f"{escape(' | '.join(f'{k}: {v}' for k, v in m.content.items()))}</li>"
            for m in self.messages
        )
        left = self.exit_reason or f"still waiting at {self.waiting_at}"
        return (
            f"<div><b>Preview of {escape(self.journey)}</b> — {escape(left)}"
            f"<table><tr><th>time (UTC)</th><th>node</th><th>event</th><th>port</th><th>detail</th></tr>{rows}"
            f"</table><ul>{msgs}</ul></div>"
        )


def _instant(v: Any, where: str) -> int:
    from journeylab.sim.simulator import to_utc

    return int(to_utc(v, where).timestamp())


def _events(events: Iterable[Any]) -> list[Event]:
    out: list[Event] = []
    for i, e in enumerate(events):
        if isinstance(e, Event):
            out.append(e._replace(user_id=PREVIEW_USER))
            continue
        if not isinstance(e, dict) or "event" not in e or "ts" not in e:
            raise JourneyDefinitionError(
                "an event is a dict with 'event' and 'ts' (and its properties)", f"events[{i}]"
            )
        props = {k: v for k, v in e.items() if k not in ("event", "ts", "user_id")}
        out.append(Event(PREVIEW_USER, _instant(e["ts"], f"events[{i}].ts"), str(e["event"]), props))
    return sorted(out, key=lambda e: e.ts)


def preview(
    journey: Any,
    profile: dict[str, Any] | None = None,
    events: Sequence[Any] = (),
    start: Any = None,
    *,
    until: Any = None,
    policy: Any = None,
    others: Sequence[Any] = (),
) -> Preview:
    """Run ``journey`` for one user and show what happens to them.

    Parameters
    ----------
    journey : Journey or JourneyDef
        The journey; it is treated as published at ``start``.
    profile : dict or None, default None
        The user's profile properties (reachability, consent, timezone, personalisation).
    events : sequence of dict or Event, default ()
        The user's events: dicts ``{"event": name, "ts": instant, **properties}`` or
        :class:`~journeylab.engine.Event` values.
    start : datetime-like or None, default None
        When the journey is published (an aware instant); default the first event's day,
        00:00 UTC.
    until : datetime-like or None, default None
        Up to when to run; default 30 days after the last event or ``start``.
    policy : AccountPolicy, dict, str or None, default None
        The account policy (caps, consent, users' timezones).
    others : sequence of Journey or JourneyDef, default ()
        Other journeys run alongside (for Journey Triggers and account caps).

    Returns
    -------
    Preview
        The user's steps, path, messages and how they left.

    Raises
    ------
    journeylab.JourneyDefinitionError
        When there is neither ``start`` nor an event, or an instant is not aware.

    Examples
    --------
    >>> from journeylab.model import Action, Journey, Push
    >>> j = Journey("Hi", id="hi")
    >>> _ = j.add(Action(id="a", event="Signed Up"))
    >>> _ = j.then("a", "yes", Push(id="p", content={"title": "Hi {{first_name|there}}"}))
    >>> p = preview(j, {"push_token": "t"}, [{"event": "Signed Up", "ts": "2026-10-01T09:00Z"}])
    >>> p.path, p.messages[0].content, p.exit_reason
    (['a', 'p'], {'title': 'Hi there'}, 'completed')
    """
    d = getattr(journey, "definition", journey)
    evs = _events(events)
    if start is None:
        if not evs:
            raise JourneyDefinitionError("give start, or at least one event", "start")
        s0 = evs[0].ts - evs[0].ts % 86400
    else:
        s0 = _instant(start, "start")
    last = max([s0, *(e.ts for e in evs)])
    end = last + 30 * 86400 if until is None else _instant(until, "until")
    defs = [d, *(getattr(o, "definition", o) for o in others)]
    drv = ReferenceDriver(
        defs,
        controls={x.id: Control.running_from(s0) for x in defs},
        profiles={PREVIEW_USER: dict(profile or {})},
        created=min([s0, *(e.ts for e in evs)]),
        policy=policy,
    )
    drv.feed(evs)
    drv.run_until(end)
    mine = [r for r in drv.canonical_trace() if r.journey == d.id]
    steps = [_step(r) for r in mine]
    path: list[str] = []
    for r in mine:
        if r.event == "entered" and (not path or path[-1] != r.node):
            path.append(r.node)
    exit_reason: str | None = "not entered" if not mine else None
    waiting_at = None
    for r in mine:
        if r.event == "exited":
            exit_reason = r.detail
    if mine and mine[-1].event != "exited":
        exit_reason, waiting_at = None, path[-1] if path else None
    msgs = [Message(_utc(s.ts), s.node, s.channel, dict(s.content)) for s in drv.sends if s.journey == d.id]
    states = drv.users.get(PREVIEW_USER)
    prof = dict(next(iter(states.values())).profile) if states else dict(profile or {})
    return Preview(d.id, steps, path, msgs, exit_reason, waiting_at, prof)


def _utc(t: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(t, dt.UTC)


def _step(r: TraceRecord) -> Step:
    return Step(_utc(r.ts), r.node, r.event, r.port, r.detail)
