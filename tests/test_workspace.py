"""The workspace: many journeys in SQLite (or any SQLAlchemy URL), versions, bulk operations."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import msgspec
import pandas as pd
import pytest
import sqlalchemy as sa

from journeylab.errors import JourneyError, LifecycleError
from journeylab.examples import EXAMPLES, cart_abandonment, purchase_promo, reference_journey, ride_tier
from journeylab.model import Push
from journeylab.workspace import SCHEMA_VERSION, JourneyNotFound, Workspace

REPO = Path(__file__).resolve().parent.parent
T0 = dt.datetime(2024, 6, 1, 12, tzinfo=dt.UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> dt.datetime:
        self.now += dt.timedelta(seconds=1)
        return self.now


@pytest.fixture
def ws(tmp_path):
    w = Workspace(tmp_path / "journeys.db", clock=Clock())
    yield w
    w.close()


def fill(ws: Workspace) -> None:
    for fn in EXAMPLES.values():
        ws.save(fn())


# ------------------------------------------------------------------ save / get


def test_save_and_get(ws):
    j = cart_abandonment()
    ws.save(j)
    back = ws.get("cart-abandonment")
    assert back.definition == j.definition
    assert "cart-abandonment" in ws and len(ws) == 1
    assert ws.versions("cart-abandonment") == []


def test_unknown_journey(ws):
    with pytest.raises(JourneyNotFound) as e:
        ws.get("nope")
    assert isinstance(e.value, KeyError) and isinstance(e.value, JourneyError)
    assert str(e.value) == "there is no journey 'nope' in this workspace"
    for op in (ws.versions, ws.publish, ws.pause, ws.archive):
        with pytest.raises(JourneyNotFound):
            op("nope")


def test_drafts_can_be_saved_again(ws):
    j = ride_tier()
    ws.save(j)
    j.rename("Ride tier v2")
    j.remove("platinum")
    ws.save(j.definition)
    assert ws.get("ride-tier").name == "Ride tier v2"
    assert [n.id for n in ws.get("ride-tier").nodes] == ["ride", "count", "ten_rides"]
    assert len(ws) == 1


def test_a_new_journey_must_be_a_draft(ws):
    j = ride_tier()
    j.publish(T0)
    with pytest.raises(LifecycleError, match=r"a new journey is saved as a draft, then published with workspace"):
        ws.save(j)
    assert len(ws) == 0


def test_save_refuses_other_objects(ws):
    with pytest.raises(TypeError):
        ws.save({"id": "x"})


# ------------------------------------------------------------------ publish and versions


def test_publish_stores_an_immutable_version(ws):
    ws.save(cart_abandonment())
    d = ws.publish("cart-abandonment", now=T0)
    assert d.status == "running" and d.version == 1
    assert ws.get("cart-abandonment").status == "running"
    assert ws.versions("cart-abandonment") == [1]
    assert ws.get_version("cart-abandonment", 1) == d
    with pytest.raises(JourneyNotFound, match="has no published version 2"):
        ws.get_version("cart-abandonment", 2)


def test_publish_with_a_future_start_is_scheduled(ws):
    j = cart_abandonment()
    j.configure(start=T0 + dt.timedelta(days=2))
    ws.save(j)
    assert ws.publish("cart-abandonment", now=T0).status == "scheduled"
    with pytest.raises(LifecycleError, match="scheduled or running journeys cannot be archived"):
        ws.archive("cart-abandonment")


def test_validation_errors_block_publish_and_nothing_changes(ws):
    j = cart_abandonment()
    j.add(Push(id="orphan"))
    ws.save(j)
    before = ws.list().iloc[0].to_dict()
    with pytest.raises(LifecycleError, match="cannot be published, validation found errors"):
        ws.publish("cart-abandonment")
    assert ws.list().iloc[0].to_dict() == before
    assert ws.versions("cart-abandonment") == []


def test_a_failing_publish_is_rolled_back(ws):
    ws.save(cart_abandonment())
    # a version row that should not be there: the insert fails after the journey row was updated
    with ws.engine.begin() as conn:
        conn.execute(
            sa.text("INSERT INTO journey_versions VALUES ('cart-abandonment', 1, '{}', '2024-01-01 00:00:00')")
        )
    with pytest.raises(LifecycleError, match="already has a published version 1"):
        ws.publish("cart-abandonment")
    assert ws.get("cart-abandonment").status == "draft"


def test_content_edits_after_publishing_are_saved_but_versions_stay(ws):
    ws.save(cart_abandonment())
    ws.publish("cart-abandonment", now=T0)
    j = ws.get("cart-abandonment")
    j.set_content("push", {"title": "New"})
    j.move("push", 3, 4)
    ws.save(j)
    assert ws.get("cart-abandonment").node("push").content == {"title": "New"}
    assert ws.get_version("cart-abandonment", 1).node("push").content != {"title": "New"}


def test_structural_changes_to_a_published_journey_are_refused(ws):
    ws.save(cart_abandonment())
    ws.publish("cart-abandonment", now=T0)
    d = ws.get("cart-abandonment").definition
    changed = msgspec.structs.replace(d, name="Sneaky")
    with pytest.raises(LifecycleError, match="after publishing only the message content"):
        ws.save(changed)
    with pytest.raises(LifecycleError, match="change its state with workspace.pause"):
        ws.save(msgspec.structs.replace(d, status="paused"))
    with pytest.raises(LifecycleError, match="cannot be replaced by a draft; stop it first"):
        ws.save(ws.get("cart-abandonment").new_draft())
    assert ws.get("cart-abandonment").name == "Cart abandonment"


def test_a_draft_is_not_published_by_saving(ws):
    ws.save(cart_abandonment())
    j = cart_abandonment()
    j.publish(T0)
    with pytest.raises(LifecycleError, match="publish it with workspace.publish"):
        ws.save(j)


def test_every_publish_is_a_new_version(ws):
    ws.save(cart_abandonment())
    v1 = ws.publish("cart-abandonment", now=T0)
    ws.stop("cart-abandonment")
    draft = ws.get("cart-abandonment").new_draft()
    draft.update("charged", window=dt.timedelta(hours=12))
    ws.save(draft)
    assert ws.get("cart-abandonment").status == "draft"
    v2 = ws.publish("cart-abandonment", now=T0)
    assert ws.versions("cart-abandonment") == [1, 2]
    assert ws.get_version("cart-abandonment", 1) == v1
    assert ws.get_version("cart-abandonment", 2) == v2
    assert v2.node("charged").window == dt.timedelta(hours=12)
    assert v1.node("charged").window == dt.timedelta(days=1)


def test_a_new_draft_of_a_stopped_journey_must_be_the_next_version(ws):
    ws.save(cart_abandonment())
    ws.publish("cart-abandonment", now=T0)
    ws.stop("cart-abandonment")
    stale = cart_abandonment()  # version 1 again
    with pytest.raises(LifecycleError, match="a new draft of it must be version 2"):
        ws.save(stale)


def test_delete_only_unpublished_drafts(ws):
    ws.save(ride_tier())
    ws.save(cart_abandonment())
    ws.delete("ride-tier")
    assert "ride-tier" not in ws
    ws.publish("cart-abandonment")
    ws.stop("cart-abandonment")
    with pytest.raises(LifecycleError, match="cannot be deleted, archive it instead"):
        ws.delete("cart-abandonment")


# ------------------------------------------------------------------ lifecycle and listing


def test_lifecycle_through_the_workspace(ws):
    ws.save(ride_tier())
    ws.publish("ride-tier")
    assert ws.pause("ride-tier").status == "paused"
    assert ws.get("ride-tier").status == "paused"
    assert ws.resume("ride-tier").status == "running"
    ws.stop("ride-tier")
    assert ws.archive("ride-tier").archived
    assert ws.get("ride-tier").archived
    assert not ws.unarchive("ride-tier").archived
    with pytest.raises(LifecycleError, match="is stopped: it cannot be resumed"):
        ws.resume("ride-tier")


def test_list_hides_archived_unless_asked(ws):
    fill(ws)
    ws.archive("ride-tier")
    ws.archive("purchase-promo")
    df = ws.list()
    assert list(df.columns) == ["id", "name", "status", "version", "archived", "updated_at"]
    assert "ride-tier" not in set(df["id"]) and len(df) == len(EXAMPLES) - 2
    assert df["id"].tolist() == sorted(df["id"])
    assert ws.list(archived=True)["id"].tolist() == ["purchase-promo", "ride-tier"]
    assert len(ws.list(archived=None)) == len(EXAMPLES)
    assert df["version"].dtype == "int64" and df["archived"].dtype == bool
    assert isinstance(df["updated_at"].dtype, pd.DatetimeTZDtype)
    assert (df["updated_at"] > pd.Timestamp(T0)).all()


def test_list_of_an_empty_workspace(ws):
    df = ws.list()
    assert df.empty and list(df.columns) == ["id", "name", "status", "version", "archived", "updated_at"]


def test_updated_at_follows_changes(ws):
    ws.save(ride_tier())
    t1 = ws.list().loc[0, "updated_at"]
    ws.publish("ride-tier")
    t2 = ws.list().loc[0, "updated_at"]
    assert t2 > t1
    assert ws.list().loc[0, "status"] == "running"


# ------------------------------------------------------------------ bulk operations


def published_workspace(ws: Workspace) -> None:
    fill(ws)
    for jid in ("cart-abandonment", "reference", "ride-tier"):
        ws.publish(jid, now=T0)


def test_bulk_pause_and_resume(ws):
    published_workspace(ws)
    out = ws.bulk_pause(["cart-abandonment", "purchase-promo", "nope", "reference", "cart-abandonment"])
    assert out == {
        "cart-abandonment": "ok",
        "purchase-promo": "journey 'purchase-promo' is draft: it cannot be paused",
        "nope": "there is no journey 'nope' in this workspace",
        "reference": "ok",
    }
    assert ws.get("cart-abandonment").status == "paused" and ws.get("reference").status == "paused"
    out = ws.bulk_resume(["cart-abandonment", "ride-tier", "reference"])
    assert out == {
        "cart-abandonment": "ok",
        "ride-tier": "journey 'ride-tier' is running: it cannot be resumed",
        "reference": "ok",
    }
    assert set(ws.list()["status"]) == {"running", "draft"}


def test_bulk_stop(ws):
    published_workspace(ws)
    ws.pause("reference")
    out = ws.bulk_stop(["reference", "ride-tier", "ride-tier", "email-sunsetting"])
    assert out["reference"] == "ok" and out["ride-tier"] == "ok"
    assert out["email-sunsetting"] == "journey 'email-sunsetting' is draft: it cannot be stopped"
    assert ws.get("reference").status == "stopped" and ws.get("ride-tier").status == "stopped"
    assert ws.bulk_stop(["ride-tier"]) == {"ride-tier": "journey 'ride-tier' is stopped: it cannot be stopped"}


def test_bulk_archive_skips_running_ones(ws):
    published_workspace(ws)
    ws.stop("reference")
    out = ws.bulk_archive(["reference", "cart-abandonment", "ride-tier", "purchase-promo"])
    assert out == {
        "reference": "ok",
        "cart-abandonment": "journey 'cart-abandonment' is running: scheduled or running journeys cannot be archived",
        "ride-tier": "journey 'ride-tier' is running: scheduled or running journeys cannot be archived",
        "purchase-promo": "ok",
    }
    assert ws.list(archived=True)["id"].tolist() == ["purchase-promo", "reference"]
    assert ws.bulk_unarchive(["reference", "ride-tier"]) == {
        "reference": "ok",
        "ride-tier": "journey 'ride-tier' is not archived",
    }


def test_bulk_operations_take_any_iterable(ws):
    published_workspace(ws)
    out = ws.bulk_pause(jid for jid in ["reference", "ride-tier"])
    assert out == {"reference": "ok", "ride-tier": "ok"}


# ------------------------------------------------------------------ storage


def test_workspace_survives_a_process_restart(tmp_path):
    db = tmp_path / "journeys.db"
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    write = textwrap.dedent(
        f"""
        from journeylab.workspace import Workspace
        from journeylab.examples import EXAMPLES
        ws = Workspace({str(db)!r})
        for fn in EXAMPLES.values():
            ws.save(fn())
        ws.publish("reference")
        ws.publish("ride-tier")
        ws.pause("ride-tier")
        ws.archive("ride-tier")
        j = ws.get("reference"); j.set_content("push", {{"title": "edited"}}); ws.save(j)
        """
    )
    subprocess.run([sys.executable, "-c", write], check=True, env=env, cwd=tmp_path, timeout=60)
    read = textwrap.dedent(
        f"""
        import json
        from journeylab.workspace import Workspace
        ws = Workspace({str(db)!r})
        df = ws.list(archived=None)
        print(json.dumps({{
            "rows": df[["id", "status", "version", "archived"]].values.tolist(),
            "push": ws.get("reference").node("push").content,
            "v1": ws.get_version("reference", 1).node("push").content,
            "versions": ws.versions("reference"),
        }}))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", read], check=True, env=env, cwd=tmp_path, timeout=60, capture_output=True, text=True
    )
    got = json.loads(out.stdout)
    rows = {r[0]: r[1:] for r in got["rows"]}
    assert len(rows) == len(EXAMPLES)
    assert rows["reference"] == ["running", 1, False]
    assert rows["ride-tier"] == ["paused", 1, True]
    assert rows["cart-abandonment"] == ["draft", 1, False]
    assert got["push"] == {"title": "edited"}
    assert got["v1"] == reference_journey().node("push").content
    assert got["versions"] == [1]
    # and this process reads it too
    with Workspace(db) as again:
        assert again.get("ride-tier").archived


def test_sqlalchemy_urls_and_memory(tmp_path):
    url = f"sqlite:///{tmp_path / 'other.db'}"
    with Workspace(url) as w:
        w.save(purchase_promo())
        assert "sqlite" in repr(w)
    with Workspace(url) as w:
        assert w.get("purchase-promo").name == "Purchase promo"
    with Workspace(":memory:") as m:
        m.save(purchase_promo(reentry=True))
        assert len(m) == 1
    with Workspace(":memory:") as m:
        assert len(m) == 0  # every in-memory workspace is its own


def test_default_path_is_journeys_db_in_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with Workspace() as w:
        w.save(ride_tier())
    assert (tmp_path / "journeys.db").exists()


def test_a_newer_schema_is_refused(tmp_path):
    db = tmp_path / "j.db"
    Workspace(db).close()
    eng = sa.create_engine(f"sqlite:///{db}")
    with eng.begin() as conn:
        conn.execute(
            sa.text("UPDATE journeylab_meta SET value = :v WHERE key = 'schema_version'"),
            {"v": str(SCHEMA_VERSION + 1)},
        )
    eng.dispose()
    with pytest.raises(JourneyError, match="written by a newer journeylab"):
        Workspace(db)
