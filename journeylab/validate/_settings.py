"""Checks of goals and journey settings (timezone, timeouts, live period, schedule, limits, DND)."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from journeylab.model.conditions import WEEKDAYS, DayRange
from journeylab.model.nodes import (
    CHANNELS,
    DND_CHANNELS,
)
from journeylab.model.settings import ActionGoal, Dates, OneTime, PastBehaviorGoal, Recurring
from journeylab.validate._base import _Base


class SettingsChecks(_Base):
    """Goals and settings."""

    def check_goals(self) -> None:
        names: set[str] = set()
        for i, g in enumerate(self.d.goals):
            p = f"$.goals[{i}]"
            if i >= 3:
                self.err(
                    "too-many-goals",
                    p,
                    f"A journey can have at most 3 goals; goal '{g.name}' is number {i + 1}. Remove a goal.",
                )
            if not g.name:
                self.err(
                    "empty-goal-name", f"{p}.name", f"Goal number {i + 1} has no name; goals are reported by name."
                )
            elif g.name in names:
                self.err(
                    "duplicate-goal-name", f"{p}.name", f"Two goals are called '{g.name}'; give each goal its own name."
                )
            names.add(g.name)
            if isinstance(g, ActionGoal):
                if not g.event:
                    self.err(
                        "empty-event",
                        f"{p}.event",
                        f"Goal '{g.name}' has no event: say which event counts as a conversion.",
                    )
                self.filters(g.filters, f"{p}.filters", None)
            elif isinstance(g, PastBehaviorGoal):
                if g.days < 1:
                    self.err(
                        "invalid-days",
                        f"{p}.days",
                        f"Goal '{g.name}' looks back {g.days} days; it must look back at least 1 day.",
                    )
                self.event_list(g.did, f"{p}.did", None)
                self.event_list(g.did_not, f"{p}.did_not", None)
                self.filters(g.profile, f"{p}.profile", None)

    def aware(self, value: dt.datetime | None, path: str, what: str) -> bool:
        if value is None:
            return False
        if value.tzinfo is None or value.utcoffset() is None:
            self.err(
                "naive-datetime",
                path,
                f"{what} ({value.isoformat()}) has no timezone; write it with a UTC offset, "
                f"for example {value.replace(tzinfo=dt.UTC).isoformat()}.",
            )
            return False
        return True

    def check_settings(self) -> None:
        s = self.d.settings
        try:
            zoneinfo.ZoneInfo(s.timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
            self.err(
                "invalid-timezone",
                "$.settings.timezone",
                f"'{s.timezone}' is not a timezone name; use an IANA name such as 'Asia/Kolkata' or 'UTC'.",
            )
        self.positive(s.journey_timeout, "$.settings.journey_timeout", "The journey timeout", None)
        self.positive(s.session_gap, "$.settings.session_gap", "The session gap", None)
        self.positive(s.attribution_window, "$.settings.attribution_window", "The attribution window", None)
        for i, n in enumerate(self.d.nodes):
            for j, b in enumerate(getattr(n, "branches", None) or ()):
                if not getattr(b, "control", False):
                    continue
                where = f"$.nodes[{i}].branches[{j}].control"
                if s.journey_timeout is None:
                    self.warn(
                        "control-without-timeout",
                        where,
                        f"Users of control branch '{b.name}' of Split node '{n.id}' are held until a goal; "
                        f"without a journey timeout they stay for ever: set one so that every branch is "
                        f"followed for a comparable time.",
                        n.id,
                    )
                elif s.attribution_window is None or s.attribution_window < s.journey_timeout:
                    self.warn(
                        "control-uneven-tracking",
                        where,
                        f"Users of control branch '{b.name}' of Split node '{n.id}' are followed for the goal until "
                        f"the journey timeout, users of the other branches only until they leave the journey: set "
                        f"an attribution window of at least the journey timeout for a fair comparison.",
                        n.id,
                    )
        if not 0 <= s.hourly_offset_minutes <= 59:
            self.err(
                "hourly-offset",
                "$.settings.hourly_offset_minutes",
                f"Node timeouts are evaluated every hour at minute {s.hourly_offset_minutes}; the minute must be "
                f"between 0 and 59.",
            )
        start_ok = self.aware(s.start, "$.settings.start", "The start")
        end_ok = self.aware(s.end, "$.settings.end", "The end")
        if start_ok and end_ok and s.start >= s.end:  # type: ignore[operator]
            self.err(
                "start-after-end",
                "$.settings.end",
                f"The journey ends ({s.end.isoformat()}) before or when it starts ({s.start.isoformat()});"  # type: ignore[union-attr]
                f" the end must come after the start.",
            )
        self.check_schedule()
        for i, lim in enumerate(s.limits):
            p = f"$.settings.limits[{i}]"
            if lim.max < 1:
                self.err(
                    "limit-max",
                    f"{p}.max",
                    f"A campaign limit of {lim.max} messages per {lim.per} would block every message; use 1 or more.",
                )
            if lim.channel is not None and lim.channel not in CHANNELS:
                self.err(
                    "limit-channel",
                    f"{p}.channel",
                    f"A campaign limit names channel '{lim.channel}', which does not exist; channels are "
                    f"{', '.join(CHANNELS)}.",
                )
        if s.dnd is not None:
            for i, ch in enumerate(s.dnd.channels):
                if ch not in DND_CHANNELS:
                    self.err(
                        "dnd-channel",
                        f"$.settings.dnd.channels[{i}]",
                        f"Do-not-disturb applies to {', '.join(DND_CHANNELS)} only, not to '{ch}'.",
                    )
            self.ranges(s.dnd.ranges, "$.settings.dnd.ranges", "a do-not-disturb range")
            if s.dnd.ranges and _covers_week(s.dnd.ranges):
                self.err(
                    "dnd-always",
                    "$.settings.dnd.ranges",
                    "The do-not-disturb ranges together cover every hour of the week, so no "
                    f"{'/'.join(s.dnd.channels)} message could ever be sent"
                    + (" (each would wait until the journey timeout)." if s.dnd.mode == "defer" else "."),
                )

    def check_schedule(self) -> None:
        sch = self.d.settings.schedule
        p = "$.settings.schedule"
        if isinstance(sch, OneTime):
            self.aware(sch.at, f"{p}.at", "The scheduled run")
        elif isinstance(sch, Dates):
            if not sch.at:
                self.err("schedule-empty", f"{p}.at", "The schedule 'several dates' lists no date; add at least one.")
            for i, at in enumerate(sch.at):
                self.aware(at, f"{p}.at[{i}]", f"Scheduled run {i + 1}")
        elif isinstance(sch, Recurring):
            self.local_time(sch.time, f"{p}.time", "The time of the recurring run")
            if sch.every == "week" and not sch.weekdays:
                self.err("schedule-weekdays", f"{p}.weekdays", "A weekly schedule needs the weekdays it runs on.")
            if sch.every == "month" and (sch.day_of_month is None or not 1 <= sch.day_of_month <= 31):
                self.err(
                    "schedule-day-of-month",
                    f"{p}.day_of_month",
                    "A monthly schedule needs the day of the month it runs on, from 1 to 31"
                    + (f" (it has {sch.day_of_month})." if sch.day_of_month is not None else "."),
                )
            if sch.start is not None and sch.end is not None and sch.start > sch.end:
                self.err(
                    "start-after-end",
                    f"{p}.end",
                    f"The recurring schedule ends on {sch.end.isoformat()}, before it starts on "
                    f"{sch.start.isoformat()}.",
                )


_WEEK_S = 7 * 86400


def _covers_week(ranges: list[DayRange]) -> bool:
    """Whether weekday ranges ``[start, end)`` (one crossing midnight belongs to the day it
    starts) together cover every instant of the week, on the wall clock."""
    spans: list[tuple[int, int]] = []
    for r in ranges:
        if r.start.tzinfo is not None or r.end.tzinfo is not None or r.start == r.end:
            continue  # refused elsewhere
        a = r.start.hour * 3600 + r.start.minute * 60 + r.start.second
        b = r.end.hour * 3600 + r.end.minute * 60 + r.end.second
        if b <= a:
            b += 86400
        for d in set(r.days):
            lo, hi = WEEKDAYS.index(d) * 86400 + a, WEEKDAYS.index(d) * 86400 + b
            spans.append((lo, min(hi, _WEEK_S)))
            if hi > _WEEK_S:  # Sunday night into Monday morning
                spans.append((0, hi - _WEEK_S))
    covered = 0
    for lo, hi in sorted(spans):
        if lo > covered:
            return False
        covered = max(covered, hi)
    return covered >= _WEEK_S
