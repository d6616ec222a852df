"""The journey lifecycle: draft → published (scheduled | running) ⇄ paused → stopped, and archive."""

from __future__ import annotations

import datetime as dt

import pytest

from journeylab.errors import JourneyDefinitionError, LifecycleError
from journeylab.examples import cart_abandonment, reference_journey
from journeylab.model import Action, ActionGoal, Email, Journey, Push

NOW = dt.datetime(2024, 6, 1, 12, tzinfo=dt.UTC)
AFTER_PUBLISH = "after publishing only the message content ('What') of engagement nodes can be edited"


def published(status: str = "running") -> Journey:
    j = cart_abandonment()
    if status == "scheduled":
        j.configure(start=NOW + dt.timedelta(days=1))
    j.publish(NOW)
    if status == "paused":
        j.pause()
    elif status == "stopped":
        j.stop()
    assert j.status == status
    return j


# every edit that is not the content of an engagement node
EDITS = {
    "add": lambda j: j.add(Email(id="new")),
    "then": lambda j: j.then("reminder", "next", Email(id="new")),
    "update-window": lambda j: j.update("charged", window=dt.timedelta(hours=2)),
    "update-send_at": lambda j: j.update("push", send_at=dt.time(9)),
    "update-content-and-label": lambda j: j.update("push", content={"title": "x"}, label="x"),
    "update-label": lambda j: j.update("push", label="new label"),
    "remove": lambda j: j.remove("reminder"),
    "connect": lambda j: j.connect("reminder", "next", "push"),
    "disconnect": lambda j: j.disconnect("charged", "timeout"),
    "disconnect-missing": lambda j: j.disconnect("charged", "yes"),
    "add_goal": lambda j: j.add_goal(ActionGoal(name="Launch", event="App Launched")),
    "remove_goal": lambda j: j.remove_goal("Purchase"),
    "configure": lambda j: j.configure(reentry=True),
    "configure-unknown": lambda j: j.configure(colour="red"),
    "rename": lambda j: j.rename("Other"),
}


# ------------------------------------------------------------------ publish


def test_draft_edits_are_free():
    j = cart_abandonment()
    for name, edit in EDITS.items():
        if name.endswith("-missing") or name.endswith("-unknown"):
            continue
        k = cart_abandonment()
        edit(k)
    assert j.status == "draft"


def test_publish_makes_it_running():
    j = cart_abandonment()
    d = j.publish(NOW)
    assert d.status == "running" and j.status == "running" and d.version == 1


def test_publish_with_a_future_start_makes_it_scheduled_then_started():
    j = published("scheduled")
    j.start()
    assert j.status == "running"
    with pytest.raises(LifecycleError, match="is running: it cannot be started"):
        j.start()


def test_publish_with_a_past_start_is_running():
    j = cart_abandonment()
    j.configure(start=NOW - dt.timedelta(days=1))
    assert j.publish(NOW).status == "running"


def test_validation_errors_block_publishing():
    j = cart_abandonment()
    j.add(Push(id="orphan"))
    j.configure(timezone="Nowhere/City")
    with pytest.raises(LifecycleError) as e:
        j.publish(NOW)
    msg = str(e.value)
    assert "journey 'cart-abandonment' cannot be published, validation found errors:" in msg
    assert "$.nodes[5]: Nothing leads into Push node 'orphan'" in msg
    assert "$.settings.timezone: 'Nowhere/City' is not a timezone name" in msg
    assert j.status == "draft"


def test_warnings_do_not_block_publishing():
    j = Journey("w", id="w")
    j.add(Action(id="in", event="E"))
    j.then("in", "yes", Action(id="wait", event="Never"))  # users wait here: a warning
    assert j.validate().warnings and j.validate().ok
    assert j.publish(NOW).status == "running"


@pytest.mark.parametrize("status", ["scheduled", "running", "paused", "stopped"])
def test_only_a_draft_can_be_published(status):
    j = published(status)
    with pytest.raises(LifecycleError, match=f"is {status}: only a draft can be published"):
        j.publish(NOW)


def test_archived_draft_cannot_be_published():
    j = cart_abandonment()
    j.archive()
    with pytest.raises(LifecycleError, match="is archived: unarchive it before publishing"):
        j.publish(NOW)
    j.unarchive()
    assert j.publish(NOW).status == "running"


# ------------------------------------------------------------------ edits after publishing


@pytest.mark.parametrize("status", ["scheduled", "running", "paused"])
@pytest.mark.parametrize("edit", sorted(EDITS))
def test_published_journeys_refuse_structural_edits(status, edit):
    j = published(status)
    before = j.definition
    with pytest.raises(LifecycleError) as e:
        EDITS[edit](j)
    assert f"journey 'cart-abandonment' is {status}: {AFTER_PUBLISH}" in str(e.value)
    assert j.definition == before


@pytest.mark.parametrize("edit", sorted(EDITS))
def test_stopped_journeys_refuse_every_edit(edit):
    j = published("stopped")
    with pytest.raises(LifecycleError, match="is stopped: it cannot be edited"):
        EDITS[edit](j)


@pytest.mark.parametrize("status", ["scheduled", "running", "paused"])
def test_content_can_be_edited_after_publishing(status):
    j = published(status)
    j.set_content("push", {"title": "New title"})
    assert j.node("push").content == {"title": "New title"}
    j.update("reminder", content={"subject": "New subject"})
    assert j.node("reminder").content == {"subject": "New subject"}
    assert j.status == status and j.version == 1


def test_content_of_a_non_engagement_node_cannot_be_set():
    j = published()
    with pytest.raises(JourneyDefinitionError, match="is not an engagement node"):
        j.set_content("wait", {"x": "y"})
    with pytest.raises(LifecycleError, match=AFTER_PUBLISH.replace("(", r"\(").replace(")", r"\)")):
        j.update("wait", content={"x": "y"})


def test_stopped_content_cannot_be_edited():
    j = published("stopped")
    with pytest.raises(LifecycleError, match="is stopped: it cannot be edited"):
        j.set_content("push", {"title": "x"})


def test_layout_can_change_in_every_state():
    for status in ("running", "paused", "stopped"):
        j = published(status)
        j.move("push", 5, 5)
        j.set_positions({"wait": (1, 2)})
        assert j.node("push").position.x == 5


# ------------------------------------------------------------------ pause, resume, stop


def test_pause_and_resume():
    j = published()
    j.pause()
    assert j.status == "paused"
    j.resume()
    assert j.status == "running"
    s = published("scheduled")
    s.pause()
    assert s.status == "paused"


@pytest.mark.parametrize(
    "status, op, verb",
    [
        ("draft", "pause", "paused"),
        ("draft", "resume", "resumed"),
        ("draft", "stop", "stopped"),
        ("draft", "start", "started"),
        ("running", "resume", "resumed"),
        ("paused", "pause", "paused"),
        ("stopped", "pause", "paused"),
        ("stopped", "resume", "resumed"),
        ("stopped", "stop", "stopped"),
        ("stopped", "start", "started"),
    ],
)
def test_refused_transitions(status, op, verb):
    j = cart_abandonment() if status == "draft" else published(status)
    with pytest.raises(LifecycleError, match=f"journey 'cart-abandonment' is {status}: it cannot be {verb}"):
        getattr(j, op)()
    assert j.status == status


@pytest.mark.parametrize("status", ["scheduled", "running", "paused"])
def test_stop_is_final(status):
    j = published(status)
    j.stop()
    assert j.status == "stopped"
    for op in ("pause", "resume", "start", "stop"):
        with pytest.raises(LifecycleError):
            getattr(j, op)()
    with pytest.raises(LifecycleError):
        j.publish(NOW)


def test_a_stopped_journey_can_be_copied_into_a_new_draft_version():
    j = published("stopped")
    draft = j.new_draft()
    assert (draft.status, draft.version, draft.id) == ("draft", 2, j.id)
    draft.update("charged", window=dt.timedelta(hours=12))
    assert draft.publish(NOW).version == 2
    assert j.status == "stopped" and j.version == 1


# ------------------------------------------------------------------ archive


@pytest.mark.parametrize("status", ["scheduled", "running"])
def test_scheduled_or_running_journeys_cannot_be_archived(status):
    j = published(status)
    with pytest.raises(LifecycleError, match=f"is {status}: scheduled or running journeys cannot be archived"):
        j.archive()
    assert not j.archived


@pytest.mark.parametrize("status", ["draft", "paused", "stopped"])
def test_archive_and_unarchive(status):
    j = cart_abandonment() if status == "draft" else published(status)
    j.archive()
    assert j.archived and j.status == status
    j.unarchive()
    assert not j.archived and j.status == status
    with pytest.raises(LifecycleError, match="is not archived"):
        j.unarchive()


def test_an_archived_paused_journey_can_be_resumed_after_unarchive():
    j = published("paused")
    j.archive()
    j.unarchive()
    j.resume()
    assert j.status == "running"


# ------------------------------------------------------------------ undo / redo across the lifecycle


def test_publish_clears_the_undo_history():
    j = reference_journey()
    j.rename("x")
    j.undo()
    assert j.can_redo
    j.publish(NOW)
    assert not j.can_undo and not j.can_redo
    assert j.undo() is False and j.redo() is False


def test_content_edits_after_publishing_can_be_undone_and_redone():
    j = published()
    j.set_content("push", {"title": "A"})
    j.set_content("push", {"title": "B"})
    assert j.undo()
    assert j.node("push").content == {"title": "A"}
    assert j.redo()
    assert j.node("push").content == {"title": "B"}


@pytest.mark.parametrize(
    "start, change", [("running", "pause"), ("running", "stop"), ("paused", "archive"), ("paused", "resume")]
)
def test_undo_and_redo_never_cross_a_lifecycle_change(start, change):
    j = published(start)
    j.set_content("push", {"title": "A"})
    j.set_content("push", {"title": "B"})
    j.undo()
    getattr(j, change)()
    state = (j.status, j.archived)
    assert j.undo() is False and j.redo() is False
    assert (j.status, j.archived) == state
    assert j.node("push").content == {"title": "A"}


def test_undo_guard_refuses_a_stale_history():
    # a history can only be stale if someone reaches inside; the guard still refuses it
    j = published()
    j.set_content("push", {"title": "A"})
    j._undo[-1] = j._undo[-1].__class__(
        **{**{f: getattr(j._undo[-1], f) for f in j._undo[-1].__struct_fields__}, "status": "draft"}
    )
    with pytest.raises(LifecycleError, match="cannot be undone"):
        j.undo()


# ------------------------------------------------------------------ one table, every holder


@pytest.mark.parametrize("status", ["draft", "scheduled", "running", "paused", "stopped"])
@pytest.mark.parametrize("verb", ["pause", "resume", "stop"])
def test_journey_workspace_and_runtime_follow_the_one_transition_table(status, verb, tmp_path):
    """The Journey, the Workspace and the Runtime accept exactly the transitions of
    ``lifecycle.TRANSITIONS``, with the same refusal message."""
    from journeylab.model import lifecycle
    from journeylab.runtime import ReplayClock, Runtime
    from journeylab.workspace import Workspace

    expect_ok = lifecycle.allowed(status, verb)
    j = cart_abandonment() if status == "draft" else published(status)
    outcomes = {}
    try:
        getattr(j, verb)()
        outcomes["journey"] = "ok"
    except LifecycleError as e:
        outcomes["journey"] = str(e)

    ws = Workspace(":memory:", clock=lambda: NOW)
    k = cart_abandonment()
    if status == "scheduled":
        k.configure(start=NOW + dt.timedelta(days=1))
    ws.save(k)
    if status != "draft":
        ws.publish(k.id, now=NOW)
        if status in ("paused", "stopped"):
            getattr(ws, {"paused": "pause", "stopped": "stop"}[status])(k.id)
    outcomes["workspace"] = (
        ws.bulk_pause([k.id])
        if verb == "pause"
        else (ws.bulk_resume([k.id]) if verb == "resume" else ws.bulk_stop([k.id]))
    )
    outcomes["workspace"] = outcomes["workspace"][k.id]

    if status != "scheduled":  # the runtime derives "scheduled" from the start; covered by the others
        rt = Runtime(
            [cart_abandonment().definition],
            f"sqlite:///{tmp_path / 'rt.db'}",
            clock=ReplayClock(NOW),
            autopublish=status != "draft",
        )
        if status in ("paused", "stopped"):
            getattr(rt, {"paused": "pause", "stopped": "stop"}[status])(k.id)
        try:
            getattr(rt, verb)(k.id)
            outcomes["runtime"] = "ok"
        except LifecycleError as e:
            outcomes["runtime"] = str(e)
        rt.close()
    want = (
        "ok"
        if expect_ok
        else f"journey 'cart-abandonment' is {status}: it cannot be {lifecycle.TRANSITIONS[verb].done}"
    )
    assert outcomes == dict.fromkeys(outcomes, want)
