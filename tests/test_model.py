"""The journey model: the node kinds table, value types and the builder API."""

from __future__ import annotations

import datetime as dt

import msgspec
import pytest

import journeylab
from journeylab.errors import JourneyDefinitionError
from journeylab.model import (
    CHANNELS,
    DND_CHANNELS,
    FREQUENCY_CHANNELS,
    NODE_KINDS,
    Action,
    ActionGoal,
    DayRange,
    Delay,
    Email,
    EventCount,
    ForceExit,
    Inaction,
    Journey,
    JourneyDef,
    Limit,
    PastBehaviorGoal,
    Position,
    ProfileUpdate,
    PropertyFilter,
    Push,
    Settings,
    Split,
    SplitBranch,
    kind_of,
    match_text,
    ports_of,
)

M = dt.timedelta(minutes=1)


def small() -> Journey:
    j = Journey("Small", id="small")
    j.add(Action(id="in", event="Start"))
    j.then("in", "yes", Push(id="p", content={"title": "Hi"}))
    return j


# ------------------------------------------------------------------ the kinds table


def test_every_kind_is_in_the_table_with_its_class():
    assert len(NODE_KINDS) == 23
    for kind, info in NODE_KINDS.items():
        assert info.kind == kind
        assert info.cls.__struct_config__.tag == kind
        assert info.title
        assert info.family in ("segment", "engagement", "controller")
        if info.entry_only:
            assert info.can_be_entry and info.ports == ("yes",)


def test_channels_are_the_engagement_kinds():
    assert set(CHANNELS) == {k for k, i in NODE_KINDS.items() if i.family == "engagement"}
    assert set(DND_CHANNELS) <= set(CHANNELS) and set(FREQUENCY_CHANNELS) <= set(CHANNELS)
    assert NODE_KINDS["push"].reachability == "push_token"
    assert NODE_KINDS["email"].ports == ("next", "viewed", "clicked", "not_sent", "timeout")


def test_ports():
    assert ports_of(Action(id="a", event="E")) == ("yes", "timeout")
    assert ports_of(Inaction(id="a", absent="E", within=M)) == ("yes", "no")
    assert ports_of(ForceExit(id="x")) == ()
    assert ports_of(Split(id="s", branches=[SplitBranch(name="A", percent=90), SplitBranch(name="B", percent=10)])) == (
        "A",
        "B",
    )
    assert kind_of(Email(id="e")) == "email"


def test_public_api_exports_the_model():
    for name in ("Journey", "JourneyDef", "Action", "Split", "NODE_KINDS", "JourneyDefinitionError", "LifecycleError"):
        assert name in journeylab.__all__ and hasattr(journeylab, name)


def test_definitions_are_immutable():
    d = small().definition
    with pytest.raises(AttributeError):
        d.name = "other"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        d.nodes[0].event = "other"  # type: ignore[misc]


# ------------------------------------------------------------------ value types


@pytest.mark.parametrize(
    "op, value, props, expected",
    [
        ("=", "Red", {"item": "Red"}, True),
        ("!=", "Red", {"item": "Blue"}, True),
        ("!=", "Red", {}, True),
        ("=", "Red", {}, False),
        (">", 300, {"item": 301}, True),
        ("<", 300, {"item": 301}, False),
        (">=", 10, {"item": 10}, True),
        ("<=", 10, {"item": 11}, False),
        ("contains", "Nike", {"item": "Red Nike Shoes"}, True),
        ("contains", "b", {"item": ["a", "b"]}, True),
        ("in", ["a", "b"], {"item": "b"}, True),
        ("exists", None, {"item": 0}, True),
        ("exists", None, {}, False),
        (">", 3, {"item": "text"}, False),  # incomparable: no match, no crash
    ],
)
def test_property_filter(op, value, props, expected):
    assert PropertyFilter(property="item", op=op, value=value).test(props) is expected


def test_day_range_past_midnight():
    r = DayRange(days=["fri"], start=dt.time(22), end=dt.time(8))
    fri, sat = dt.datetime(2024, 1, 5), dt.datetime(2024, 1, 6)
    assert r.contains(fri.replace(hour=23))
    assert r.contains(sat.replace(hour=7, minute=59))
    assert not r.contains(sat.replace(hour=8))
    assert not r.contains(sat.replace(hour=23))
    assert not r.contains(fri.replace(hour=7))


@pytest.mark.parametrize(
    "value, pattern, mode, expected",
    [
        ("https://s.io/cart", "https://s.io/cart", "exact", True),
        ("https://s.io/cart?x", "https://s.io/cart", "prefix", True),
        ("https://s.io/cart", "cart", "contains", True),
        ("https://s.io/p/12", r"/p/\d+$", "regex", True),
        (None, "x", "contains", False),
    ],
)
def test_match_text(value, pattern, mode, expected):
    assert match_text(value, pattern, mode) is expected


def test_goal_matching():
    g = ActionGoal(name="Shoes", event="Charged", filters=[PropertyFilter(property="item", value="Red Nike Shoes")])
    assert g.matches("Charged", {"item": "Red Nike Shoes"})
    assert not g.matches("Charged", {"item": "Socks"})


# ------------------------------------------------------------------ builder


def test_builder_makes_nodes_and_connectors():
    j = small()
    j.add(Email(id="e"))
    j.connect("p", "next", "e")
    assert [n.id for n in j.nodes] == ["in", "p", "e"]
    assert [(c.source, c.port, c.target) for c in j.connectors] == [("in", "yes", "p"), ("p", "next", "e")]
    assert [n.id for n in j.definition.entry_nodes()] == ["in"]
    assert j.node("e") == Email(id="e")
    assert "nodes=3, connectors=2" in repr(j)


def test_journey_settings_from_keywords():
    j = Journey("Cart abandonment", timezone="Asia/Kolkata", journey_timeout=dt.timedelta(days=3), reentry=True)
    assert j.id == "cart-abandonment"
    assert j.settings == Settings(timezone="Asia/Kolkata", journey_timeout=dt.timedelta(days=3), reentry=True)
    assert Journey("!!!").id == "journey"


def test_unknown_setting_is_a_definition_error():
    with pytest.raises(JourneyDefinitionError) as e:
        Journey("x", timezon="UTC")
    assert e.value.path == "$.settings"
    with pytest.raises(JourneyDefinitionError) as e:
        small().configure(colour="red")
    assert e.value.path == "$.settings"


def test_wrongly_typed_settings_are_refused_with_a_path():
    with pytest.raises(JourneyDefinitionError) as e:
        Journey("x", journey_timeout="three days")
    assert e.value.path == "$.settings.journey_timeout"
    j = small()
    with pytest.raises(JourneyDefinitionError) as e:
        j.configure(limits=[Limit(max="many")])
    assert e.value.path == "$.settings.limits[0].max"
    assert j.settings.limits == []


def test_duplicate_id_is_refused():
    j = small()
    with pytest.raises(JourneyDefinitionError, match="a node with id 'p' already exists"):
        j.add(Email(id="p"))
    with pytest.raises(JourneyDefinitionError, match="already exists"):
        j.then("in", "yes", Email(id="in"))


def test_connect_checks_port_and_nodes():
    j = small()
    j.add(Email(id="e"))
    with pytest.raises(JourneyDefinitionError) as e:
        j.connect("p", "yes", "e")
    assert e.value.path == "$.nodes[1]"
    assert e.value.message == "node 'p' has no port 'yes'; its ports are next, viewed, clicked, not_sent, timeout"
    with pytest.raises(JourneyDefinitionError, match="there is no node 'ghost'"):
        j.connect("p", "next", "ghost")
    with pytest.raises(JourneyDefinitionError, match="already connected"):
        j.connect("in", "yes", "e")
    with pytest.raises(JourneyDefinitionError, match="has no port 'no'"):
        j.then("in", "no", Email(id="x"))


def test_disconnect_and_remove():
    j = small()
    j.add(Email(id="e"))
    j.connect("p", "next", "e")
    j.disconnect("p", "next")
    assert len(j.connectors) == 1
    with pytest.raises(JourneyDefinitionError, match="no connector leaves 'p' by 'next'"):
        j.disconnect("p", "next")
    j.remove("p")
    assert [n.id for n in j.nodes] == ["in", "e"] and j.connectors == []
    with pytest.raises(JourneyDefinitionError):
        j.remove("p")


def test_update_changes_fields():
    j = small()
    j.then("p", "next", Delay(id="d", duration=20 * M))
    new = j.update("d", duration=30 * M, label="Wait")
    assert new == Delay(id="d", duration=30 * M, label="Wait")
    assert j.node("d") == new


def test_update_refuses_bad_fields_and_types():
    j = small()
    j.then("p", "next", Delay(id="d", duration=20 * M))
    with pytest.raises(JourneyDefinitionError, match="a node's id cannot be changed"):
        j.update("d", id="other")
    with pytest.raises(JourneyDefinitionError) as e:
        j.update("d", colour="red")
    assert e.value.path == "$.nodes[2]"
    with pytest.raises(JourneyDefinitionError) as e:
        j.update("d", duration="soon")
    assert e.value.path == "$.nodes[2].duration"
    with pytest.raises(JourneyDefinitionError) as e:
        j.update("p", content={"title": 3})
    assert e.value.path.startswith("$.nodes[1].content")
    assert j.node("d") == Delay(id="d", duration=20 * M)  # nothing changed


def test_wrongly_typed_new_node_is_refused():
    j = small()
    with pytest.raises(JourneyDefinitionError) as e:
        j.then("p", "next", ProfileUpdate(id="u", property="n", op="multiply"))
    assert e.value.path == "$.nodes[2].op"
    assert [n.id for n in j.nodes] == ["in", "p"]


def test_set_content_only_on_engagement_nodes():
    j = small()
    j.set_content("p", {"title": "Hello {{first_name}}"})
    assert j.node("p").content == {"title": "Hello {{first_name}}"}
    with pytest.raises(JourneyDefinitionError, match="is not an engagement node"):
        j.set_content("in", {"title": "x"})


def test_goals():
    j = small()
    j.add_goal(ActionGoal(name="Purchase", event="Charged"))
    j.add_goal(PastBehaviorGoal(name="Spender", did=[EventCount(event="Charged", at_least=3)]))
    with pytest.raises(JourneyDefinitionError, match="already exists"):
        j.add_goal(ActionGoal(name="Purchase", event="X"))
    j.add_goal(ActionGoal(name="Third", event="X"))
    with pytest.raises(JourneyDefinitionError) as e:
        j.add_goal(ActionGoal(name="Fourth", event="X"))
    assert e.value.path == "$.goals[3]" and "at most 3 goals" in e.value.message
    j.remove_goal("Third")
    assert [g.name for g in j.goals] == ["Purchase", "Spender"]
    with pytest.raises(JourneyDefinitionError, match="no goal named 'Nope'"):
        j.remove_goal("Nope")


def test_move_and_positions_are_not_undoable_edits():
    j = small()
    j.move("p", 10, 20)
    j.set_positions({"in": (0, 0), "ghost": (5, 5)})
    assert j.node("p").position == Position(x=10, y=20)
    assert j.node("in").position == Position(x=0, y=0)
    assert j.undo() is True  # undoes the 'then', not the moves
    assert [n.id for n in j.nodes] == ["in"]


def test_listeners_hear_every_change():
    j = small()
    seen = []
    j.on_change(lambda jj: seen.append(len(jj.nodes)))
    j.add(Email(id="e"))
    j.move("e", 1, 1)
    j.undo()
    assert seen == [3, 3, 2]


def test_undo_redo():
    j = small()
    before = j.definition
    j.rename("Renamed")
    j.configure(reentry=True)
    assert j.can_undo and not j.can_redo
    assert j.undo() and j.undo()
    assert j.definition == before
    assert j.redo()
    assert j.name == "Renamed" and not j.settings.reentry
    j.add(Email(id="e"))  # a new edit drops the redo history
    assert not j.can_redo and j.redo() is False
    while j.undo():
        pass
    assert j.nodes == [] and j.undo() is False


def test_from_def_wraps_a_definition():
    d = JourneyDef(id="x", nodes=[Action(id="a", event="E")])
    j = Journey.from_def(d)
    assert j.definition is d and j.status == "draft" and j.version == 1 and not j.archived
    assert msgspec.structs.replace(d, name="y") != d
