"""The journey: an immutable definition, and an editable handle with lifecycle rules.

:class:`JourneyDef` is the frozen definition the engine runs and the JSON export holds.
:class:`Journey` is what an analyst edits in a notebook (or the widget edits): every edit
makes a new definition, is checked against the lifecycle (after publishing only the
content of engagement nodes may change), can be undone, and notifies listeners.

>>> import datetime as dt
>>> from journeylab.model import Journey, Inaction, Push, ActionGoal
>>> j = Journey("Cart abandonment", id="cart")
>>> _ = j.add(Inaction(id="cart", event="Added To Cart", absent="Charged", within=dt.timedelta(minutes=15)))
>>> _ = j.then("cart", "yes", Push(id="push", content={"title": "Forgot something?"}))
>>> _ = j.add_goal(ActionGoal(name="Purchase", event="Charged"))
>>> [n.id for n in j.nodes], [(c.source, c.port, c.target) for c in j.connectors]
(['cart', 'push'], [('cart', 'yes', 'push')])
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import msgspec

from journeylab.errors import JourneyDefinitionError, LifecycleError
from journeylab.model import lifecycle
from journeylab.model.conditions import Position
from journeylab.model.lifecycle import Status
from journeylab.model.nodes import Engagement, Node, ports_of
from journeylab.model.settings import Connector, Goal, Settings

if TYPE_CHECKING:
    from journeylab.preview import Preview
    from journeylab.validate import ValidationReport

__all__ = ["JourneyDef", "Journey", "Status", "FORMAT_VERSION"]

FORMAT_VERSION = 1


class JourneyDef(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, forbid_unknown_fields=True):
    """The whole definition of one journey version: what the JSON export holds.

    Parameters
    ----------
    id : str
        The journey's id.
    name : str, default ""
        Its name.
    version : int, default 1
        The version; publishing an edited journey makes the next one.
    status : {"draft", "scheduled", "running", "paused", "stopped"}, default "draft"
        Its lifecycle state.
    archived : bool, default False
        Hidden from the workspace's lists.
    settings : Settings, default Settings()
        Timezone, timeout, re-entry, schedule, sending rules.
    nodes : list of Node, default []
        The nodes.
    connectors : list of Connector, default []
        The connectors between them.
    goals : list of ActionGoal or PastBehaviorGoal, default []
        The goals.
    entries : list of str, default []
        The ids of the entry nodes; default the segments nothing leads into.
    format : int, default FORMAT_VERSION
        The version of the JSON format.

    Examples
    --------
    >>> from journeylab.model import Action, JourneyDef
    >>> d = JourneyDef(id="welcome", nodes=[Action(id="a", event="App Installed")])
    >>> d.id, d.status, len(d.nodes)
    ('welcome', 'draft', 1)
    """

    id: str
    name: str = ""
    version: int = 1
    status: Status = "draft"
    archived: bool = False
    settings: Settings = Settings()
    nodes: list[Node] = []
    connectors: list[Connector] = []
    goals: list[Goal] = []
    #: the entry nodes, when listed explicitly (then every other node needs an incoming
    #: connector); empty: the segments with no incoming connector
    entries: list[str] = []
    format: int = FORMAT_VERSION

    def node(self, node_id: str) -> Node:
        """The node with this id (``KeyError`` if none)."""
        for n in self.nodes:
            if n.id == node_id:
                return n
        raise KeyError(node_id)

    def entry_nodes(self) -> list[Node]:
        """The entry criteria: the nodes listed in ``entries``, else the nodes with no incoming
        connector (in node order). :func:`journeylab.validate` checks that they can start a
        journey and that no other node is left unconnected."""
        if self.entries:
            listed = set(self.entries)
            return [n for n in self.nodes if n.id in listed]
        targets = {c.target for c in self.connectors}
        return [n for n in self.nodes if n.id not in targets]


def _typecheck(d: JourneyDef) -> None:
    """Raise :class:`JourneyDefinitionError` (with a path) for a value of the wrong type.

    Structs built in Python are not type-checked by msgspec; an edit is checked the way its
    JSON would be, so ``update("d", duration=5)`` fails at once, at ``$.nodes[i].duration``.
    """
    from journeylab.model.io import _wrap

    try:
        msgspec.convert(msgspec.to_builtins(d), type=JourneyDef, strict=False)
    except msgspec.ValidationError as e:
        raise _wrap(e) from None
    except (TypeError, ValueError, OverflowError) as e:
        raise JourneyDefinitionError(f"a value cannot be stored in a journey: {e}", "$") from None


def _slug(text: str) -> str:
    s = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return s or "journey"


Listener = Callable[["Journey"], None]


class Journey:
    """An editable journey. Edits are checked against the lifecycle and can be undone.

    Create one in code with a name and any :class:`Settings` field as keyword, then add
    nodes, connectors and goals. ``Journey.from_def`` wraps an existing definition.

    Parameters
    ----------
    name : str, default ""
        The journey's name.
    id : str or None, default None
        Its id; default one made from the name.
    **settings
        Any :class:`Settings` field (``timezone="Asia/Kolkata"``,
        ``journey_timeout=dt.timedelta(days=7)``...).

    Raises
    ------
    journeylab.JourneyDefinitionError
        When a setting is unknown or of the wrong type.

    Examples
    --------
    >>> import datetime as dt
    >>> from journeylab.model import Action, Journey, Push
    >>> j = Journey("Welcome", timezone="Asia/Kolkata", journey_timeout=dt.timedelta(days=7))
    >>> _ = j.add(Action(id="installed", event="App Installed"))
    >>> _ = j.then("installed", "yes", Push(id="hello", content={"title": "Welcome!"}))
    >>> j.id, [n.id for n in j.nodes], j.definition.settings.timezone
    ('welcome', ['installed', 'hello'], 'Asia/Kolkata')
    """

    def __init__(self, name: str = "", *, id: str | None = None, **settings: Any) -> None:
        try:
            s = Settings(**settings)
        except TypeError as e:
            raise JourneyDefinitionError(str(e), "$.settings") from None
        d = JourneyDef(id=id or _slug(name), name=name, settings=s)
        _typecheck(d)
        self._def = d
        self._undo: list[JourneyDef] = []
        self._redo: list[JourneyDef] = []
        self._listeners: list[Listener] = []

    # ------------------------------------------------------------------ access
    @classmethod
    def from_def(cls, d: JourneyDef) -> Journey:
        j = cls.__new__(cls)
        j._def = d
        j._undo, j._redo, j._listeners = [], [], []
        return j

    @property
    def definition(self) -> JourneyDef:
        """The current immutable definition (what the engine runs)."""
        return self._def

    @property
    def id(self) -> str:
        return self._def.id

    @property
    def name(self) -> str:
        return self._def.name

    @property
    def status(self) -> Status:
        return self._def.status

    @property
    def version(self) -> int:
        return self._def.version

    @property
    def archived(self) -> bool:
        return self._def.archived

    @property
    def settings(self) -> Settings:
        return self._def.settings

    @property
    def nodes(self) -> list[Node]:
        return list(self._def.nodes)

    @property
    def connectors(self) -> list[Connector]:
        return list(self._def.connectors)

    @property
    def goals(self) -> list[Goal]:
        return list(self._def.goals)

    def node(self, node_id: str) -> Node:
        try:
            return self._def.node(node_id)
        except KeyError:
            raise JourneyDefinitionError(f"there is no node {node_id!r} in this journey", "$.nodes") from None

    def on_change(self, listener: Listener) -> None:
        """Call ``listener(journey)`` after every change (the widget redraws on it)."""
        self._listeners.append(listener)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        """A journey shows itself as its graph in a notebook (static SVG: it renders in exported
        pages and on GitHub too), with the text ``repr`` for plain viewers.

        >>> from journeylab.model import Action
        >>> j = Journey("Welcome", id="welcome")
        >>> _ = j.add(Action(id="installed", event="App Installed"))
        >>> sorted(j._repr_mimebundle_())
        ['image/svg+xml', 'text/plain']
        """
        data: dict[str, Any] = {"text/plain": repr(self)}
        try:  # the drawing layer is imported lazily: the model does not depend on it
            from journeylab.charts.journey_graph import journey_svg

            data["image/svg+xml"] = journey_svg(self, title=self.name or self.id)
        except Exception:  # noqa: BLE001 - a journey always shows at least as text
            pass
        return data

    def __repr__(self) -> str:
        return (
            f"Journey(id={self.id!r}, name={self.name!r}, status={self.status!r}, version={self.version}, "
            f"nodes={len(self._def.nodes)}, connectors={len(self._def.connectors)}, goals={len(self._def.goals)})"
        )

    # ------------------------------------------------------------------ editing core
    def _commit(self, new: JourneyDef, *, record: bool = True) -> None:
        if record:
            _typecheck(new)
            self._undo.append(self._def)
            self._redo.clear()
        self._def = new
        for fn in list(self._listeners):
            fn(self)

    def _require_draft(self, what: str) -> None:
        lifecycle.check_edit(self._def.status, what, self.id)

    def _replace(self, what: str, **changes: Any) -> Journey:
        self._require_draft(what)
        self._commit(msgspec.structs.replace(self._def, **changes))
        return self

    def undo(self) -> bool:
        """Undo the last edit; False when there is nothing to undo."""
        if not self._undo:
            return False
        prev = self._undo.pop()
        if prev.status != self._def.status or prev.version != self._def.version:
            self._undo.append(prev)
            raise LifecycleError("edits made before a lifecycle change (publish, pause, ...) cannot be undone")
        self._redo.append(self._def)
        self._commit(prev, record=False)
        return True

    def redo(self) -> bool:
        """Redo the last undone edit; False when there is nothing to redo."""
        if not self._redo:
            return False
        nxt = self._redo.pop()
        if nxt.status != self._def.status or nxt.version != self._def.version:
            self._redo.append(nxt)
            raise LifecycleError("edits undone before a lifecycle change (publish, pause, ...) cannot be redone")
        self._undo.append(self._def)
        self._commit(nxt, record=False)
        return True

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    # ------------------------------------------------------------------ nodes
    def add(self, node: Node) -> Node:
        """Add a node; returns it. Ids must be unique."""
        self._require_draft(f"adding node {node.id!r}")
        if any(n.id == node.id for n in self._def.nodes):
            raise JourneyDefinitionError(f"a node with id {node.id!r} already exists", "$.nodes")
        self._replace(f"adding node {node.id!r}", nodes=[*self._def.nodes, node])
        return node

    def then(self, source: str, port: str, node: Node) -> Node:
        """Add ``node`` and connect ``source`` to it by ``port`` (one undo step)."""
        self._require_draft(f"adding node {node.id!r}")
        if any(n.id == node.id for n in self._def.nodes):
            raise JourneyDefinitionError(f"a node with id {node.id!r} already exists", "$.nodes")
        self._check_port(source, port)
        self._commit(
            msgspec.structs.replace(
                self._def,
                nodes=[*self._def.nodes, node],
                connectors=[*self._def.connectors, Connector(source=source, port=port, target=node.id)],
            )
        )
        return node

    def update(self, node_id: str, **changes: Any) -> Node:
        """Change fields of a node. After publishing, only ``content`` of engagement nodes."""
        old = self.node(node_id)
        content_only = set(changes) == {"content"} and isinstance(old, Engagement)
        what = f"changing {', '.join(sorted(changes))} of node {node_id!r}"
        lifecycle.check_edit(self._def.status, what, self.id, content_only=content_only)
        if "id" in changes and changes["id"] != node_id:
            raise JourneyDefinitionError("a node's id cannot be changed; add a new node instead", "$.nodes")
        try:
            new = msgspec.structs.replace(old, **changes)
        except TypeError as e:
            raise JourneyDefinitionError(str(e), f"$.nodes[{self._index(node_id)}]") from None
        self._commit(msgspec.structs.replace(self._def, nodes=[new if n.id == node_id else n for n in self._def.nodes]))
        return new

    def set_content(self, node_id: str, content: dict[str, str]) -> Node:
        """Edit the message content ("What") of an engagement node: allowed after publishing."""
        node = self.node(node_id)
        if not isinstance(node, Engagement):
            raise JourneyDefinitionError(
                f"node {node_id!r} is not an engagement node", f"$.nodes[{self._index(node_id)}]"
            )
        return self.update(node_id, content=dict(content))

    def move(self, node_id: str, x: float, y: float) -> None:
        """Move a node on the canvas (layout only: allowed in every state, not undoable)."""
        self.node(node_id)
        nodes = [
            msgspec.structs.replace(n, position=Position(x=float(x), y=float(y))) if n.id == node_id else n
            for n in self._def.nodes
        ]
        self._commit(msgspec.structs.replace(self._def, nodes=nodes), record=False)

    def set_positions(self, positions: dict[str, tuple[float, float]]) -> None:
        """Set many node positions at once (Auto Align); layout only, allowed in every state."""
        nodes = [
            msgspec.structs.replace(n, position=Position(x=float(positions[n.id][0]), y=float(positions[n.id][1])))
            if n.id in positions
            else n
            for n in self._def.nodes
        ]
        self._commit(msgspec.structs.replace(self._def, nodes=nodes), record=False)

    def remove(self, node_id: str) -> None:
        """Delete a node and every connector touching it."""
        self._require_draft(f"deleting node {node_id!r}")
        self.node(node_id)
        self._replace(
            f"deleting node {node_id!r}",
            nodes=[n for n in self._def.nodes if n.id != node_id],
            connectors=[c for c in self._def.connectors if node_id not in (c.source, c.target)],
        )

    def _index(self, node_id: str) -> int:
        for i, n in enumerate(self._def.nodes):
            if n.id == node_id:
                return i
        return -1

    def mark_entry(self, node_id: str, entry: bool = True) -> None:
        """List ``node_id`` as an entry explicitly (or take it off the list with ``entry=False``).

        With an explicit list, a node that nothing leads into and that is not listed is an
        error, so a node added and forgotten cannot silently become a second entry.

        >>> import datetime as dt
        >>> from journeylab.model import Action, Push
        >>> j = Journey("Two doors", id="doors")
        >>> _ = j.add(Action(id="web", event="Signed Up (web)"))
        >>> _ = j.add(Action(id="app", event="Signed Up (app)"))
        >>> j.mark_entry("web"); j.mark_entry("app")
        >>> j.definition.entries
        ['web', 'app']
        """
        self.node(node_id)
        current = list(self._def.entries)
        if entry and node_id not in current:
            entries = [*current, node_id]
        elif not entry and node_id in current:
            entries = [e for e in current if e != node_id]
        else:
            return
        self._replace(f"{'marking' if entry else 'unmarking'} {node_id!r} as an entry", entries=entries)

    # ------------------------------------------------------------------ connectors
    def _check_port(self, source: str, port: str) -> None:
        node = self.node(source)
        ports = ports_of(node)
        if port not in ports:
            raise JourneyDefinitionError(
                f"node {source!r} has no port {port!r}; its ports are {', '.join(ports) or 'none'}",
                f"$.nodes[{self._index(source)}]",
            )

    def connect(self, source: str, port: str, target: str) -> Connector:
        """Connect ``source`` leaving by ``port`` to ``target``."""
        self._require_draft(f"connecting {source!r} to {target!r}")
        self._check_port(source, port)
        self.node(target)
        if any(c.source == source and c.port == port for c in self._def.connectors):
            raise JourneyDefinitionError(f"port {port!r} of node {source!r} is already connected", "$.connectors")
        c = Connector(source=source, port=port, target=target)
        self._replace(f"connecting {source!r} to {target!r}", connectors=[*self._def.connectors, c])
        return c

    def disconnect(self, source: str, port: str) -> None:
        """Remove the connector leaving ``source`` by ``port``."""
        self._require_draft(f"removing the connector {source!r}/{port!r}")
        keep = [c for c in self._def.connectors if not (c.source == source and c.port == port)]
        if len(keep) == len(self._def.connectors):
            raise JourneyDefinitionError(f"no connector leaves {source!r} by {port!r}", "$.connectors")
        self._replace(f"removing the connector {source!r}/{port!r}", connectors=keep)

    # ------------------------------------------------------------------ goals & settings
    def add_goal(self, goal: Goal) -> Goal:
        """Add a goal (at most 3 per journey)."""
        self._require_draft(f"adding goal {goal.name!r}")
        if len(self._def.goals) >= 3:
            raise JourneyDefinitionError("a journey can have at most 3 goals", f"$.goals[{len(self._def.goals)}]")
        if any(g.name == goal.name for g in self._def.goals):
            raise JourneyDefinitionError(f"a goal named {goal.name!r} already exists", "$.goals")
        self._replace(f"adding goal {goal.name!r}", goals=[*self._def.goals, goal])
        return goal

    def remove_goal(self, name: str) -> None:
        """Remove the goal called ``name``."""
        self._require_draft(f"removing goal {name!r}")
        if not any(g.name == name for g in self._def.goals):
            raise JourneyDefinitionError(f"there is no goal named {name!r}", "$.goals")
        self._replace(f"removing goal {name!r}", goals=[g for g in self._def.goals if g.name != name])

    def configure(self, **settings: Any) -> Settings:
        """Change journey settings (timezone, journey_timeout, reentry, dnd, limits, ...)."""
        self._require_draft(f"changing settings {', '.join(sorted(settings))}")
        try:
            new = msgspec.structs.replace(self._def.settings, **settings)
        except TypeError as e:
            raise JourneyDefinitionError(str(e), "$.settings") from None
        self._replace(f"changing settings {', '.join(sorted(settings))}", settings=new)
        return new

    def rename(self, name: str) -> None:
        self._replace("renaming", name=name)

    # ------------------------------------------------------------------ lifecycle
    def publish(self, now: dt.datetime | None = None) -> JourneyDef:
        """Validate and publish. Errors block it (:class:`LifecycleError` listing them).

        The journey becomes ``scheduled`` when its start lies in the future, else ``running``;
        every publish is a new version.
        """
        status = lifecycle.next_status(self._def.status, "publish", self.id, start=self._def.settings.start, now=now)
        if self._def.archived:
            raise LifecycleError(f"journey {self.id!r} is archived: unarchive it before publishing")
        lifecycle.publish_check(self._def)
        self._lifecycle(msgspec.structs.replace(self._def, status=status))
        return self._def

    def new_draft(self) -> Journey:
        """A draft copy of this journey (next version), free to edit again."""
        d = msgspec.structs.replace(self._def, status="draft", version=self._def.version + 1, archived=False)
        return Journey.from_def(d)

    def _transition(self, verb: str) -> None:
        status = lifecycle.next_status(self._def.status, verb, self.id)
        self._lifecycle(msgspec.structs.replace(self._def, status=status))

    def _lifecycle(self, new: JourneyDef) -> None:
        # Undo history covers the edits made since the last lifecycle change only.
        self._undo.clear()
        self._redo.clear()
        self._commit(new, record=False)

    def start(self) -> None:
        """Mark a scheduled journey as running (its start time has come)."""
        self._transition("start")

    def pause(self) -> None:
        """Pause: no new entries; users inside keep moving and receiving messages."""
        self._transition("pause")

    def resume(self) -> None:
        """Resume a paused journey."""
        self._transition("resume")

    def stop(self) -> None:
        """Stop for good: no entries, no movement, no sends; users inside exit ``stopped``."""
        self._transition("stop")

    def archive(self) -> None:
        """Hide from the default listing. Refused for scheduled or running journeys."""
        lifecycle.check_archive(self._def.status, self.id)
        self._lifecycle(msgspec.structs.replace(self._def, archived=True))

    def unarchive(self) -> None:
        lifecycle.check_unarchive(self._def.archived, self.id)
        self._lifecycle(msgspec.structs.replace(self._def, archived=False))

    # ------------------------------------------------------------------ I/O
    def to_json(self, *, indent: int = 2) -> str:
        from journeylab.model.io import to_json

        return to_json(self._def, indent=indent)

    @classmethod
    def from_json(cls, text: str | bytes) -> Journey:
        from journeylab.model.io import from_json

        return cls.from_def(from_json(text))

    def preview(
        self, profile: dict[str, Any] | None = None, events: Sequence[Any] = (), start: Any = None, **kw: Any
    ) -> Preview:
        """One user's path, rendered messages and exit reason ("test send"); see
        :func:`journeylab.preview.preview` (the engine core, for one user).

        >>> from journeylab.examples import purchase_promo
        >>> p = purchase_promo().preview({"push_token": "t"}, [{"event": "Charged", "ts": "2026-10-01T09:00Z"}])
        >>> p.path, p.exit_reason
        (['purchase', 'wait', 'promo'], 'completed')
        """
        from journeylab.preview import preview

        return preview(self, profile, events, start, **kw)

    def validate(self, *, cohort: Any = None) -> ValidationReport:
        """Validate the current definition (templates also against ``cohort`` when given);
        see :func:`journeylab.validate.validate`."""
        from journeylab.validate import validate

        return validate(self._def, cohort=cohort)
