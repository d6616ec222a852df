"""One runner per driver, all fed the same scenario, all returning the canonical trace.

A :class:`Scenario` is what every driver gets: journeys (in list order), profiles, the cohort's
events, the period ``[start, end)``, the seed, lifecycle moments (pause / resume / stop),
custom lists, and the responses to messages — drawn by a behaviour model in the simulator,
or scripted by message id (worked examples). :func:`run` runs it through one driver:

* ``reference``: :class:`~journeylab.engine.ReferenceDriver`;
* ``simulate`` / ``simulate-2``: :func:`journeylab.sim.simulate` in one process / two forked workers
  with hour-long periods instead of the default month (the batched engine where it runs the
  journeys); ``simulate-per-user``: one process, the per-user engine;
* ``sharded``: ``simulate(..., backend="processes", shards=...)`` (spawned processes: the
  backend's own code, with one pool of spawned workers kept for the test session instead of
  a new pool per run, see :func:`shared_spawn_pools`; ``tests/test_scale.py`` runs the
  backend with pools of its own);
* ``runtime``: :class:`~journeylab.runtime.Runtime` on SQLite (in memory) replaying the
  cohort's events and the simulation's responses with a :class:`~journeylab.runtime.ReplayClock`.

The reference driver and the runtime are fed the exact input stream of the simulation
(:func:`journeylab.sim.replay.replay_inputs`: at one instant, cohort events in input order,
then the responses in the order they were drawn), so responses drawn by a behaviour model
need a simulation first: :func:`run_all` runs ``simulate`` first and hands its responses on.

Every driver's trace comes back as plain tuples
``(user_id, ts_epoch_s, journey, version, node, event, port, detail)`` in canonical order.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import pandas as pd
from runtime_helpers import rows as rows_of  # trace rows as plain tuples: one reading for every driver

from journeylab.engine import Control, Event, Feedback, ReferenceDriver, TraceRecord
from journeylab.engine.types import Input
from journeylab.model import JourneyDef
from journeylab.sim import BehaviourModel, Cohort, simulate
from journeylab.sim import simulator as _simulator
from journeylab.sim.replay import replay_inputs

__all__ = [
    "DRIVERS",
    "Row",
    "Scenario",
    "Outcome",
    "ScriptedResponses",
    "ExampleRun",
    "run",
    "run_all",
    "run_example",
    "rows_of",
    "scenario_of",
    "shared_spawn_pools",
    "shutdown_shared_pools",
]

DRIVERS: tuple[str, ...] = ("reference", "simulate", "simulate-per-user", "simulate-2", "sharded", "runtime")
#: the drivers that expose message contents and final profiles
KEEPS_STATE: tuple[str, ...] = ("reference", "runtime")
#: the drivers that draw responses themselves (from the behaviour model)
SIMULATORS: tuple[str, ...] = ("simulate", "simulate-per-user", "simulate-2", "sharded")

Row = tuple[str, int, str, int, str, str, str, str]
SendRow = tuple[str, str, int, str, str, str, int]  # message id, journey, version, user, node, channel, ts
RESPONSE_COLUMNS = ["user_id", "ts", "seq", "kind", "message_id", "event", "props"]


def _install_scripted_responses() -> None:
    """Let the simulator's per-user loop (``PerUserLoop._respond``) read a
    :class:`ScriptedResponses` (other behaviour models are untouched), and run such a model
    through the per-user loop (the batched engine draws responses in arrays). Done when the
    first such model is made: in the test process, in forked workers (they inherit it) and in
    the sharded backend's spawned workers (they rebuild the model when they unpickle it)."""
    from journeylab.sim.loop import PerUserLoop

    if getattr(PerUserLoop._respond, "scripted", False):
        return
    original = PerUserLoop._respond

    def _respond(self: Any, u: int, s: Any) -> None:
        if isinstance(self.behaviour, ScriptedResponses):
            for ts, kind in self.behaviour.script.get(s.id, ()):
                self._push(u, Feedback(s.user_id, ts, s.id, kind))
            return
        original(self, u, s)

    _respond.scripted = True  # type: ignore[attr-defined]
    PerUserLoop._respond = _respond
    loop_class = _simulator._loop_class

    def _loop_class(js: Any, behaviour: Any, engine: str) -> Any:
        return PerUserLoop if isinstance(behaviour, ScriptedResponses) else loop_class(js, behaviour, engine)

    _simulator._loop_class = _loop_class


@dataclass(frozen=True)
class ScriptedResponses(BehaviourModel):
    """Responses given by message id: ``script[message_id] = ((ts, kind), ...)``.

    The simulator draws responses from a behaviour model when it sends a message; a worked
    example gives them instead ("a views the push 10 minutes after it is sent"). With this
    model the simulator queues exactly the scripted feedback for each message it sends (and
    none for the others), through the same queue the behaviour model feeds.
    """

    script: dict[str, tuple[tuple[int, str], ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _install_scripted_responses()

    def __reduce__(self) -> tuple[Any, ...]:
        return (ScriptedResponses, (self.channels, self.nodes, self.script))


@dataclass
class Scenario:
    """The inputs every driver gets (see the module docstring).

    ``events`` is the cohort's events table (``user_id, ts, event`` plus property columns,
    time-ordered); ``profiles`` maps users to their properties (users with events and no
    profile are unknown users). ``created``: where the reference driver's and the runtime's
    user clocks start (default 30 days before ``start``).
    """

    journeys: Sequence[JourneyDef]
    profiles: dict[str, dict[str, Any]]
    events: pd.DataFrame
    start: int
    end: int
    seed: int = 0
    lifecycle: dict[str, Sequence[tuple[int, str]]] = field(default_factory=dict)
    custom_lists: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    behaviour: BehaviourModel | None = None
    created: int | None = None
    shards: int = 2
    runtime_batch: int = 500  # inputs per runtime transaction (1: one unit per input, as ingest() does)
    policy: Any = None  # the account policy (None: the default)

    @property
    def user_clock_start(self) -> int:
        return self.start - 30 * 86400 if self.created is None else self.created

    def profiles_frame(self) -> pd.DataFrame:
        cols: dict[str, None] = {}
        for p in self.profiles.values():
            cols.update(dict.fromkeys(p))
        users = sorted(self.profiles)
        data = {"user_id": pd.Series(users, dtype=object)}
        for c in cols:
            data[c] = pd.Series([self.profiles[u].get(c) for u in users], dtype=object)
        return pd.DataFrame(data)

    def ops(self) -> list[tuple[int, str, str]]:
        """Lifecycle changes in time order: ``(epoch, journey id, status)``."""
        return sorted(((t, jid, s) for jid, changes in self.lifecycle.items() for t, s in changes), key=lambda x: x[0])


@dataclass
class Outcome:
    """What one driver produced. ``contents`` (message id -> content) and ``profiles``
    (final profiles) are None where the driver does not expose them; ``responses`` only
    for the simulators."""

    driver: str
    rows: list[Row]
    sends: list[SendRow]
    contents: dict[str, dict[str, str]] | None = None
    responses: pd.DataFrame | None = None
    profiles: dict[str, dict[str, Any]] | None = None
    batched: bool = False  # (the simulators) the batched engine ran


def events_frame(events: Iterable[Event]) -> pd.DataFrame:
    """An events table from engine events (their properties as columns)."""
    evs = list(events)
    cols: dict[str, None] = {}
    for e in evs:
        cols.update(dict.fromkeys(e.props))
    data: dict[str, Any] = {
        "user_id": pd.Series([e.user_id for e in evs], dtype=object),
        "ts": pd.to_datetime([e.ts for e in evs], unit="s", utc=True),
        "event": pd.Series([e.name for e in evs], dtype=object),
    }
    for c in cols:
        data[c] = pd.Series([e.props.get(c) for e in evs], dtype=object)
    df = pd.DataFrame(data)
    if evs and any(e.event_id is not None for e in evs):
        df["event_id"] = pd.Series([e.event_id for e in evs], dtype=object)
    return df.sort_values("ts", kind="stable", ignore_index=True)


def _sends_of(frame: pd.DataFrame) -> list[SendRow]:
    if frame.empty:
        return []
    return list(
        zip(
            frame["message_id"].astype(str),
            frame["journey"].astype(str),
            frame["version"].astype("int64").tolist(),
            frame["user_id"].astype(str),
            frame["node"].astype(str),
            frame["channel"].astype(str),
            frame["ts"].dt.as_unit("s").astype("int64").tolist(),
            strict=True,
        )
    )


def _canonical_sends(sends: Iterable[SendRow]) -> list[SendRow]:
    return sorted(sends, key=lambda s: (s[6], s[3], s[0]))


def _ts(t: int) -> pd.Timestamp:
    return pd.Timestamp(t, unit="s", tz="UTC")


# --------------------------------------------------------------------------- simulators

#: pools of spawned workers the sharded driver reuses, by number of workers
_POOLS: dict[int | None, Any] = {}


class _SharedPool:
    """Stands in for ``ProcessPoolExecutor(max_workers=n, mp_context=spawn)`` inside the
    sharded backend: the same kind of pool (spawned processes, payloads pickled to them),
    started once and kept, so a run costs its shards, not the start of fresh interpreters
    (about 1.5 s a run here). A run that fails drops its pool: the next one starts afresh."""

    def __init__(self, max_workers: int | None = None, mp_context: Any = None, **kw: Any) -> None:
        from concurrent.futures import ProcessPoolExecutor

        self.fresh = None
        if kw or mp_context is None or mp_context.get_start_method() != "spawn":
            self.fresh = ProcessPoolExecutor(max_workers=max_workers, mp_context=mp_context, **kw)
            return
        self.key = max_workers
        if self.key not in _POOLS:
            _POOLS[self.key] = ProcessPoolExecutor(max_workers=max_workers, mp_context=mp_context)

    def __enter__(self) -> Any:
        return self.fresh.__enter__() if self.fresh is not None else _POOLS[self.key]

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> bool:
        if self.fresh is not None:
            return bool(self.fresh.__exit__(exc_type, exc, tb))
        if exc_type is not None:
            pool = _POOLS.pop(self.key, None)
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)
        return False


@contextlib.contextmanager
def shared_spawn_pools() -> Iterator[None]:
    """Within the block, the sharded backend (``journeylab.sim.scale``) runs its shards on
    pools of spawned workers kept for the session (see :class:`_SharedPool`); where the
    backend no longer makes its pool by that name, nothing changes."""
    from journeylab.sim import scale

    real = getattr(scale, "ProcessPoolExecutor", None)
    if real is None:
        yield
        return
    scale.ProcessPoolExecutor = _SharedPool  # type: ignore[misc]
    try:
        yield
    finally:
        scale.ProcessPoolExecutor = real  # type: ignore[misc]


def shutdown_shared_pools() -> None:
    """Stop the kept pools (at the end of the test session)."""
    while _POOLS:
        _, pool = _POOLS.popitem()
        pool.shutdown(wait=True, cancel_futures=True)


def run_simulator(scn: Scenario, driver: str) -> Outcome:
    """``simulate`` in one process, with two forked workers, or sharded over processes."""
    cohort = Cohort(scn.profiles_frame(), scn.events, unknown_users="add")
    lifecycle = {jid: [(_ts(t), s) for t, s in changes] for jid, changes in scn.lifecycle.items()}
    kw: dict[str, Any] = {"workers": 1}
    if driver == "simulate-per-user":
        kw = {"workers": 1, "engine": "per-user"}
    elif driver == "simulate-2":  # (and hour-long periods: the trace does not depend on the period)
        kw = {"workers": 2, "period": pd.Timedelta(hours=1).to_pytimedelta()}
    elif driver == "sharded":
        kw = {"backend": "processes", "shards": scn.shards}
    with shared_spawn_pools() if driver == "sharded" else contextlib.nullcontext():
        res = simulate(
            list(scn.journeys),
            cohort,
            _ts(scn.start),
            _ts(scn.end),
            seed=scn.seed,
            behaviour=scn.behaviour or BehaviourModel.silent(),
            lifecycle=lifecycle or None,
            custom_lists=scn.custom_lists or None,
            policy=scn.policy,
            **kw,
        )
    responses = res.responses if len(res.responses) else pd.DataFrame(columns=RESPONSE_COLUMNS)
    return Outcome(
        driver,
        rows_of(res.trace),
        _canonical_sends(_sends_of(res.sends)),
        None,
        responses.reset_index(drop=True),
        batched=res.timings.get("batched") == 1.0,
    )


# --------------------------------------------------------------------------- reference driver and runtime


def inputs_of(scn: Scenario, responses: pd.DataFrame | None) -> list[Input]:
    """The simulator's input stream: the cohort's events before ``end`` and the responses."""
    ev = scn.events[scn.events["ts"] < _ts(scn.end)]
    if responses is not None and len(responses):
        responses = responses.assign(ts=pd.to_datetime(responses["ts"], utc=True))
    return replay_inputs(ev, responses)


def _split(inputs: list[Input], t: int, i: int) -> int:
    j = i
    while j < len(inputs) and inputs[j].ts < t:
        j += 1
    return j


def run_reference(scn: Scenario, responses: pd.DataFrame | None) -> Outcome:
    defs = list(scn.journeys)
    controls = {d.id: Control.running_from(scn.start) for d in defs}
    for t, jid, status in scn.ops():  # versions published during the run: known up front (they are data)
        if status.startswith("publish"):
            controls[jid] = controls[jid].with_status(t, status)
    drv = ReferenceDriver(
        defs,
        controls=controls,
        profiles=scn.profiles,
        created=scn.user_clock_start,
        seed=scn.seed,
        custom_lists=scn.custom_lists or None,
        policy=scn.policy,
    )
    inputs = inputs_of(scn, responses)
    i = 0
    for t, jid, status in scn.ops():
        if status.startswith("publish"):
            continue
        j = _split(inputs, t, i)
        drv.feed(inputs[i:j])
        drv.control(jid, t, status)
        i = j
    drv.feed(inputs[i:])
    drv.run_until(scn.end - 1)
    sends = [(s.id, s.journey, s.version, s.user_id, s.node, s.channel, s.ts) for s in drv.sends]
    profiles = {u: dict(next(iter(states.values())).profile) for u, states in drv.users.items()}
    return Outcome(
        "reference",
        [tuple(r) for r in drv.canonical_trace()],
        _canonical_sends(sends),
        {s.id: dict(s.content) for s in drv.sends},
        None,
        profiles,
    )


def run_runtime(scn: Scenario, responses: pd.DataFrame | None, db_url: str = "sqlite://") -> Outcome:
    """The runtime replaying the input stream: its clock starts with the users' clocks, the
    journeys are published at ``start`` and paused / resumed / stopped at their moments."""
    from journeylab.runtime import ReplayClock, Runtime

    later = {(jid, int(status.split()[1][1:])) for _, jid, status in scn.ops() if status.startswith("publish")}
    by_version = {(d.id, d.version): d for d in scn.journeys}
    defs = [d for d in scn.journeys if (d.id, d.version) not in later]  # the rest are published during the run
    created = scn.user_clock_start
    inputs = inputs_of(scn, responses)
    first = min([created, *(x.ts for x in inputs[:1])])
    rt = Runtime(
        defs,
        db_url,
        clock=ReplayClock(first),
        profiles=scn.profiles,
        created=created,
        seed=scn.seed,
        custom_lists=scn.custom_lists or None,
        autopublish=False,
        policy=scn.policy,
    )
    try:
        i = _split(inputs, scn.start, 0)
        batch = scn.runtime_batch
        rt.replay(inputs[:i], batch=batch)
        rt.advance_to(scn.start - 1)
        rt.clock.advance_to(scn.start)
        for jid in dict.fromkeys(d.id for d in defs):
            rt.publish(jid)
        for t, jid, status in scn.ops():
            j = _split(inputs, t, i)
            rt.replay(inputs[i:j], batch=batch)
            rt.advance_to(t - 1)
            rt.clock.advance_to(t)  # the change happens at t; timers due at t run after it
            if status.startswith("publish"):
                rt.publish_version(by_version[jid, int(status.split()[1][1:])], migrate=status.endswith(" migrate"))
            else:
                {"paused": rt.pause, "running": rt.resume, "stopped": rt.stop}[status](jid)
            i = j
        rt.replay(inputs[i:], until=scn.end - 1, batch=batch)
        out = rt.outbox.rows()
        sends = [
            (m["id"], m["journey"], int(m["version"]), m["user_id"], m["node"], m["channel"], int(m["ts"])) for m in out
        ]
        contents = {m["id"]: _payload(m)["content"] for m in out}
        users = sorted(scn.profiles.keys() | set(scn.events["user_id"]))
        profiles = {}
        for u in users:
            states = rt.user_states(u)
            if states is not None:
                profiles[u] = dict(next(iter(states.values())).profile)
        errors = rt.rejected()
        if len(errors):
            raise AssertionError(f"the runtime refused or failed inputs:\n{errors.to_string()}")
        return Outcome("runtime", rows_of(rt.trace()), _canonical_sends(sends), contents, None, profiles)
    finally:
        rt.close()


def _payload(m: dict[str, Any]) -> dict[str, Any]:
    import json

    p = m.get("payload")
    return json.loads(p) if isinstance(p, str) else dict(p or {})


# --------------------------------------------------------------------------- entry points


def run(scn: Scenario, driver: str, responses: pd.DataFrame | None = None) -> Outcome:
    """Run ``scn`` through ``driver``. The reference driver and the runtime need the
    simulation's ``responses`` when a behaviour model draws them (see :func:`run_all`).
    Validation warnings are not shown (the journeys are valid; their warnings are expected)."""
    import warnings

    from journeylab.errors import JourneyWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", JourneyWarning)
        return _run(scn, driver, responses)


def _run(scn: Scenario, driver: str, responses: pd.DataFrame | None) -> Outcome:
    if driver in SIMULATORS:
        return run_simulator(scn, driver)
    if driver == "reference":
        return run_reference(scn, responses)
    if driver == "runtime":
        return run_runtime(scn, responses)
    raise ValueError(f"unknown driver {driver!r}")


def run_all(scn: Scenario, drivers: Sequence[str] = DRIVERS) -> dict[str, Outcome]:
    """Run ``scn`` through ``drivers``: ``simulate`` first, its responses then feed the
    reference driver and the runtime."""
    out: dict[str, Outcome] = {}
    sim = run(scn, "simulate")
    if "simulate" in drivers:
        out["simulate"] = sim
    for d in drivers:
        if d != "simulate":
            out[d] = run(scn, d, sim.responses)
    return out


def scripted_scenario(
    journeys: Sequence[JourneyDef],
    inputs: Sequence[Input],
    *,
    until: int,
    profiles: dict[str, dict] | None = None,
    start: int = 0,
    controls: dict[str, Control] | None = None,
    seed: int = 0,
    created: int | None = None,
    custom_lists: dict | None = None,
    policy: Any = None,
) -> tuple[Scenario, pd.DataFrame]:
    """A worked example's inputs as a scenario: events become the cohort, feedback the
    scripted responses, and each journey's control timeline its lifecycle (published at its
    first running instant, which must be ``start``). Returns the scenario and the responses
    table (the reference driver's and the runtime's view of the scripted feedback)."""
    events = [x for x in inputs if isinstance(x, Event)]
    feedback = [x for x in inputs if isinstance(x, Feedback)]
    other = [x for x in inputs if not isinstance(x, Event | Feedback)]
    if other:
        raise TypeError(f"a scenario takes events and feedback only, not {type(other[0]).__name__}")
    lifecycle: dict[str, list[tuple[int, str]]] = {}
    for jid, ctl in (controls or {}).items():
        timeline = list(ctl.timeline)
        if not timeline or timeline[0] != (start, "running"):
            raise ValueError(f"journey {jid!r}: a scenario's journeys start running at start ({start})")
        if timeline[1:]:
            lifecycle[jid] = timeline[1:]
    script: dict[str, list[tuple[int, str]]] = {}
    resp_rows = []
    for k, f in enumerate(sorted(feedback, key=lambda f: f.ts)):
        script.setdefault(f.message_id, []).append((f.ts, f.kind))
        resp_rows.append((f.user_id, _ts(f.ts), k + 1, f.kind, f.message_id, "", None))
    scn = Scenario(
        journeys=list(journeys),
        profiles={u: dict(p) for u, p in (profiles or {}).items()},
        events=events_frame(events),
        start=start,
        end=until + 1,
        seed=seed,
        lifecycle=lifecycle,
        custom_lists=custom_lists or {},
        behaviour=ScriptedResponses(
            {ch: b for ch, b in BehaviourModel.silent().channels.items()}, {}, {k: tuple(v) for k, v in script.items()}
        ),
        created=start if created is None else created,
        policy=policy,
    )
    return scn, pd.DataFrame(resp_rows, columns=RESPONSE_COLUMNS)


class SentMessage(NamedTuple):
    """A message a driver sent; ``content`` is None where the driver does not expose it."""

    id: str
    journey: str
    version: int
    user_id: str
    node: str
    channel: str
    ts: int
    content: dict[str, str] | None


class ExampleRun:
    """A worked example's result, the same for every driver: the trace (canonical order),
    the messages (by time, user, id) and, where the driver exposes them, final profiles."""

    def __init__(self, outcome: Outcome) -> None:
        self.driver = outcome.driver
        self.trace: list[TraceRecord] = [TraceRecord(*r) for r in outcome.rows]
        contents = outcome.contents
        self.sends: list[SentMessage] = [
            SentMessage(*s, None if contents is None else contents[s[0]]) for s in outcome.sends
        ]
        self._profiles = outcome.profiles

    def canonical_trace(self) -> list[TraceRecord]:
        return self.trace

    @property
    def exposes_profiles(self) -> bool:
        return self._profiles is not None

    def profile(self, user: str) -> dict[str, Any]:
        """The user's final profile (the reference driver and the runtime keep them)."""
        if self._profiles is None:
            raise LookupError(f"{self.driver} does not expose final profiles")
        return self._profiles[user]


def run_example(
    driver: str, journeys: Sequence[JourneyDef | Any], inputs: Sequence[Input], *, runtime_batch: int = 1, **kw: Any
) -> ExampleRun:
    """One worked example through ``driver`` (see :func:`scripted_scenario`); the runtime
    takes one input per transaction, as :meth:`Runtime.ingest` does."""
    defs = [getattr(j, "definition", j) for j in journeys]
    scn, responses = scripted_scenario(defs, inputs, **kw)
    scn.runtime_batch = runtime_batch
    return ExampleRun(run(scn, driver, responses))


def scenario_of(case: Any, shards: int = 2) -> Scenario:
    """A :class:`strategies.Case` as a scenario."""
    return Scenario(
        journeys=list(case.journeys),
        profiles=case.profile_dicts(),
        events=case.events,
        start=case.start,
        end=case.end,
        seed=case.seed,
        lifecycle={k: list(v) for k, v in case.lifecycle.items()},
        custom_lists=case.custom_lists,
        behaviour=case.behaviour,
        shards=shards,
        runtime_batch=case.runtime_batch,
        policy=getattr(case, "policy", None),
    )
