"""Checks of each node on its own (fields, forms, patterns); dispatched by node class."""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any

from journeylab.model.nodes import (
    DND_CHANNELS,
    FREQUENCY_CHANNELS,
    NODE_KINDS,
    Action,
    CustomList,
    DateTime,
    Delay,
    Engagement,
    Inaction,
    JourneyTrigger,
    PageCount,
    PageVisit,
    PastBehavior,
    ProfileMatch,
    ProfileUpdate,
    Referrer,
    Split,
    kind_of,
)
from journeylab.validate._base import _WEEK, _ZERO, _Base, _days, _hhmm, _title


class NodeChecks(_Base):
    """Per-node checks (one method per node family, see :data:`_NODE_CHECKS`)."""

    def check_node(self, i: int, n: Any) -> None:
        p = f"$.nodes[{i}]"
        nid = n.id
        if n.position is not None and not (math.isfinite(n.position.x) and math.isfinite(n.position.y)):
            self.err(
                "invalid-position", f"{p}.position", f"Node '{nid}' has a canvas position that is not a number.", nid
            )
        for cls, fn in _NODE_CHECKS:
            if isinstance(n, cls):
                fn(self, p, n)
        window = getattr(n, "window", None)
        self.positive(window, f"{p}.window", f"The qualifying window of node '{nid}'", nid)

    def _action(self, p: str, n: Action) -> None:
        if not n.event:
            self.err("empty-event", f"{p}.event", f"Action node '{n.id}' has no event name.", n.id)
        self.filters(n.filters, f"{p}.filters", n.id)
        self.filters(n.profile, f"{p}.profile", n.id)

    def _inaction(self, p: str, n: Inaction) -> None:
        if not n.absent:
            self.err(
                "empty-event", f"{p}.absent", f"Inaction node '{n.id}' does not say which event must not happen.", n.id
            )
        if n.event is not None and not n.event:
            self.err("empty-event", f"{p}.event", f"Inaction node '{n.id}' has an empty first event name.", n.id)
        self.positive(n.within, f"{p}.within", f"The waiting time of Inaction node '{n.id}'", n.id)
        self.filters(n.filters, f"{p}.filters", n.id)
        self.filters(n.absent_filters, f"{p}.absent_filters", n.id)

    def _past_behavior(self, p: str, n: PastBehavior) -> None:
        if n.days < 1:
            self.err(
                "invalid-days",
                f"{p}.days",
                f"Past Behavior node '{n.id}' looks back {n.days} days; it must look back at least 1 day.",
                n.id,
            )
        self.event_list(n.did, f"{p}.did", n.id)
        self.event_list(n.did_not, f"{p}.did_not", n.id)
        self.filters(n.profile, f"{p}.profile", n.id)

    def _date_time(self, p: str, n: DateTime) -> None:
        if not n.property:
            self.err(
                "empty-property", f"{p}.property", f"Date Time node '{n.id}' does not name its date property.", n.id
            )

    def _pattern(self, p: str, n: PageVisit | Referrer) -> None:
        field = "url" if isinstance(n, PageVisit) else "source"
        value = getattr(n, field)
        if not n.event:
            self.err("empty-event", f"{p}.event", f"Node '{n.id}' has an empty page-view event name.", n.id)
        if not value:
            self.err("empty-pattern", f"{p}.{field}", f"{_title(n)} node '{n.id}' has an empty {field}.", n.id)
        elif n.match == "regex":
            try:
                re.compile(value)
            except (re.error, OverflowError, RecursionError, ValueError) as e:
                self.err(
                    "invalid-regex",
                    f"{p}.{field}",
                    f"The pattern {value!r} of node '{n.id}' is not a valid regular expression ({e}).",
                    n.id,
                )

    def _page_count(self, p: str, n: PageCount) -> None:
        if n.count < 1:
            self.err(
                "invalid-count",
                f"{p}.count",
                f"Page Count node '{n.id}' counts {n.count} pages; it must be at least 1.",
                n.id,
            )
        if not n.event:
            self.err("empty-event", f"{p}.event", f"Page Count node '{n.id}' has an empty page-view event name.", n.id)

    def _profile(self, p: str, n: ProfileMatch) -> None:
        self.filters(n.profile, f"{p}.profile", n.id)

    def _trigger(self, p: str, n: JourneyTrigger) -> None:
        if not n.journey or not n.node:
            field = "journey" if not n.journey else "node"
            self.err(
                "trigger-incomplete",
                f"{p}.{field}",
                f"Journey Trigger node '{n.id}' must name the journey and the node that trigger it.",
                n.id,
            )
        elif n.journey == self.d.id:
            self.err(
                "self-trigger",
                f"{p}.journey",
                f"Journey Trigger node '{n.id}' listens to node '{n.node}' of this same journey; a Journey Trigger "
                f"starts a journey from another journey.",
                n.id,
            )

    def _custom_list(self, p: str, n: CustomList) -> None:
        if not n.users and not n.path:
            self.err(
                "custom-list-empty",
                p,
                f"Custom List node '{n.id}' has neither user ids nor a file of user ids, so nobody would enter.",
                n.id,
            )

    def _engagement(self, p: str, n: Engagement) -> None:
        self.positive(n.response_window, f"{p}.response_window", f"The viewed/clicked window of node '{n.id}'", n.id)
        self.local_time(n.send_at, f"{p}.send_at", f"The send time of node '{n.id}'", n.id)
        kind = kind_of(n)
        if n.frequency is not None:
            if kind not in FREQUENCY_CHANNELS:
                self.err(
                    "frequency-channel",
                    f"{p}.frequency",
                    f"{_title(n)} node '{n.id}' has delivery windows (campaign frequency), but only In-App, "
                    f"Web Pop-up and Web Exit Intent messages support them.",
                    n.id,
                )
            elif not n.frequency:
                self.warn(
                    "frequency-empty",
                    f"{p}.frequency",
                    f"{_title(n)} node '{n.id}' has campaign frequency on but no delivery window, so every message "
                    f"will be discarded.",
                    n.id,
                )
            self.ranges(n.frequency, f"{p}.frequency", f"a delivery window of node '{n.id}'", n.id)
        defaults = NODE_KINDS[kind].defaults.get("content", {})
        stale = [k for k, v in n.content.items() if k in defaults and v == defaults[k]]
        if stale:
            self.warn(
                "placeholder-content",
                f"{p}.content",
                f"{_title(n)} node '{n.id}' still has the placeholder text of a new node in "
                f"{', '.join(repr(k) for k in stale)}: write the message before it goes out.",
                n.id,
            )
        self.templates(p, n)
        self.dnd_conflict(p, n)

    def templates(self, p: str, n: Engagement) -> None:
        """Every content field parses as a template and names only ``profile`` and ``event``."""
        from journeylab.model.templates import check_template, template_reads

        for k, v in n.content.items():
            at = f"{p}.content.{k}" if k.isidentifier() else f"{p}.content[{k!r}]"
            why = check_template(v)
            if why is not None:
                self.err(
                    "template-syntax",
                    at,
                    f"The {k!r} text of {_title(n)} node '{n.id}' is not a valid template: {why}.",
                    n.id,
                )
                continue
            other = sorted(template_reads(v)[2])
            if other:
                self.warn(
                    "template-unknown-name",
                    at,
                    f"The {k!r} text of {_title(n)} node '{n.id}' uses {', '.join(repr(x) for x in other)}, which "
                    f"is always empty: a template sees 'profile' (profile.first_name) and 'event' "
                    f"(the triggering event's properties, event.item).",
                    n.id,
                )

    def dnd_conflict(self, p: str, n: Engagement) -> None:
        dnd = self.d.settings.dnd
        t = n.send_at
        kind = kind_of(n)
        if dnd is None or t is None or t.tzinfo is not None or kind not in DND_CHANNELS or kind not in dnd.channels:
            return
        for r in dnd.ranges:
            if r.start.tzinfo is not None or r.end.tzinfo is not None or r.start == r.end:
                continue
            if any(r.contains(dt.datetime.combine(day, t)) for day in _WEEK):
                self.err(
                    "send-at-in-dnd",
                    f"{p}.send_at",
                    f"{_title(n)} node '{n.id}' is set to send at {_hhmm(t)}, inside the do-not-disturb hours "
                    f"{_hhmm(r.start)}–{_hhmm(r.end)} ({_days(r.days)}); choose a send time outside DND or change "
                    f"the DND hours.",
                    n.id,
                )
                return

    def _delay(self, p: str, n: Delay) -> None:
        forms = [f for f in ("duration", "at_time", "property") if getattr(n, f) is not None]
        if len(forms) != 1:
            have = ", ".join(forms) if forms else "none"
            self.err(
                "delay-form",
                p,
                f"Delay node '{n.id}' must wait in exactly one way: a duration, a time of day, or a date in a "
                f"profile property (it has: {have}).",
                n.id,
            )
        self.positive(n.duration, f"{p}.duration", f"The wait of Delay node '{n.id}'", n.id)
        self.local_time(n.at_time, f"{p}.at_time", f"The time of day of Delay node '{n.id}'", n.id)
        if n.weekdays and n.at_time is None:
            self.err(
                "delay-weekdays",
                f"{p}.weekdays",
                f"Delay node '{n.id}' lists weekdays, which only make sense with a time of day to wait for.",
                n.id,
            )
        if n.offset != _ZERO and n.property is None:
            self.err(
                "delay-offset",
                f"{p}.offset",
                f"Delay node '{n.id}' has an offset, which only applies when waiting for a date in a profile property.",
                n.id,
            )
        if n.property is not None and not n.property:
            self.err("empty-property", f"{p}.property", f"Delay node '{n.id}' has an empty property name.", n.id)

    def _profile_update(self, p: str, n: ProfileUpdate) -> None:
        if not n.property:
            self.err(
                "empty-property",
                f"{p}.property",
                f"Profile Update node '{n.id}' does not name the property to change.",
                n.id,
            )
        if n.op in ("increment", "decrement") and n.value is not None:
            v = n.value
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                self.err(
                    "non-numeric-value",
                    f"{p}.value",
                    f"Profile Update node '{n.id}' would {n.op} '{n.property}' by {v!r}, which is not a number.",
                    n.id,
                )

    def _split(self, p: str, n: Split) -> None:
        names: set[str] = set()
        total = 0.0
        for j, b in enumerate(n.branches):
            bp = f"{p}.branches[{j}]"
            if not b.name:
                self.err("split-branch-name", f"{bp}.name", f"Branch {j + 1} of Split node '{n.id}' has no name.", n.id)
            elif b.name in names:
                self.err(
                    "split-branch-name",
                    f"{bp}.name",
                    f"Split node '{n.id}' has two branches called '{b.name}'; branch names must differ.",
                    n.id,
                )
            names.add(b.name)
            if not math.isfinite(b.percent) or b.percent < 0:
                self.err(
                    "split-negative",
                    f"{bp}.percent",
                    f"Branch '{b.name}' of Split node '{n.id}' gets {b.percent:g}%; a share must be 0% or more.",
                    n.id,
                )
            total += b.percent
        if not abs(total - 100.0) <= 1e-9:
            self.err(
                "split-sum",
                f"{p}.branches",
                f"The branches of Split node '{n.id}' add up to {total:g}%; they must add up to 100%.",
                n.id,
            )


_NODE_CHECKS: list[tuple[type, Any]] = [
    (Action, NodeChecks._action),
    (Inaction, NodeChecks._inaction),
    (PastBehavior, NodeChecks._past_behavior),
    (DateTime, NodeChecks._date_time),
    (PageVisit, NodeChecks._pattern),
    (Referrer, NodeChecks._pattern),
    (PageCount, NodeChecks._page_count),
    (ProfileMatch, NodeChecks._profile),
    (JourneyTrigger, NodeChecks._trigger),
    (CustomList, NodeChecks._custom_list),
    (Engagement, NodeChecks._engagement),
    (Delay, NodeChecks._delay),
    (ProfileUpdate, NodeChecks._profile_update),
    (Split, NodeChecks._split),
]
