"""A write that finds the register busy (SQLite's write lock held by another writer, such as an import
being saved; on PostgreSQL the engagement graph's lock) is told so, 503 with Retry-After, and saves
nothing; sent again later, it is saved."""

import sqlite3

import pytest
from helpers import csrf_token, login
from sqlalchemy import func, select, text

from register import services
from register.api import make_token
from register.audit import Actor
from register.extensions import db
from register.models import AuditSource, Engagement, GroupEntity, Role, ThirdParty
from register.users import create_user


@pytest.fixture
def app_config() -> dict:
    return {"BUSY_TIMEOUT_MS": 200}  # not 15 s


EDITOR, PASSWORD = "editor@example.org", "correct horse battery"


def editor_token() -> str:
    """An editor (EDITOR, PASSWORD) and the secret of an API token of theirs."""
    with services.write_unit(Actor(AuditSource.CLI, label="test")):
        secret, _token = make_token(create_user(EDITOR, "Editor", Role.EDITOR, PASSWORD), "tests")
    return secret


def test_a_write_while_another_writer_holds_the_register_is_answered_busy_and_saves_nothing(app, client):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's single write lock")
    secret = editor_token()
    assert login(client, EDITOR, PASSWORD).status_code == 302
    form = {"csrf_token": csrf_token(client, "/third-parties/new"), "legal_name": "Kaveri Data Services",
            "country_code": "IN", "vetting_status": "pending", "status": "active"}
    database_file = app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///")
    holder = sqlite3.connect(database_file, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # what an import's write unit holds until it commits
    try:
        page = client.post("/third-parties/new", data=form)
        assert page.status_code == 503 and page.headers["Retry-After"] == "30"
        assert "The register is busy" in page.get_data(as_text=True)
        api = app.test_client().post("/api/v1/third-parties", headers={"Authorization": f"Bearer {secret}"},
                                     json={"legal_name": "Kaveri Data Services", "country_code": "IN"})
        assert api.status_code == 503 and api.headers["Retry-After"] == "30"
        assert api.get_json()["error"]["status"] == 503 and "busy" in api.get_json()["error"]["title"]
    finally:
        holder.rollback()
        holder.close()
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(ThirdParty)) == 0
    assert client.post("/third-parties/new", data=form).status_code == 302  # sent again: saved
    assert db.session.scalar(select(ThirdParty.legal_name)) == "Kaveri Data Services"


def test_an_engagement_written_while_another_unit_holds_the_graph_is_answered_busy_on_postgresql(app, client):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's lock on the engagement graph (SQLite: the test above)")
    secret = editor_token()
    with services.write_unit(Actor(AuditSource.CLI, label="test")):
        hq = services.create(GroupEntity, {"legal_name": "Meridian SA", "country_code": "FR", "is_controller": True})
        vendor = services.create(ThirdParty, {"legal_name": "Cloudy Inc", "country_code": "US"})
    body = {"engager_id": hq.id, "engaged_id": vendor.id, "service": "Hosting", "relationship_type": "processor"}
    with db.engine.connect() as holder:  # another unit checking an engagement, not yet committed
        holder.execute(text("SELECT pg_advisory_lock(:key)"), {"key": services.ENGAGEMENT_GRAPH_LOCK})
        try:
            busy = client.post("/api/v1/engagements", headers={"Authorization": f"Bearer {secret}"}, json=body)
            assert busy.status_code == 503 and busy.headers["Retry-After"] == "30", busy.get_json()
        finally:
            holder.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": services.ENGAGEMENT_GRAPH_LOCK})
            holder.commit()
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Engagement)) == 0
    assert client.post("/api/v1/engagements", headers={"Authorization": f"Bearer {secret}"}, json=body).status_code == 201
