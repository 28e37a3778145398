"""Health, configuration, the queue with a real worker, and migrations."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import inspect, select

from keloa_web.db import db, utcnow
from keloa_web.models import Invite
from keloa_web.redis_server import EmbeddedRedis
from tests import helpers


def test_healthz_ok(client):
    resp = client.get("/healthz")
    assert resp.status_code == 200
    assert resp.get_json()["checks"] == {"database": "ok", "redis": "ok"}


def test_healthz_names_redis_when_it_is_down(app, tmp_path):
    server = EmbeddedRedis(tmp_path / "r", appendonly=False).start()
    app.config["REDIS_URL"] = server.url
    app.extensions.pop("keloa_redis", None)
    assert helpers.Client(app).get("/healthz").status_code == 200
    server.stop()
    resp = helpers.Client(app).get("/healthz")
    assert resp.status_code == 503
    body = resp.get_json()
    assert body["checks"]["database"] == "ok" and body["checks"]["redis"].startswith("down")


def test_production_refuses_default_secret_and_missing_meta(monkeypatch, settings):
    for k, v in settings.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("KELOA_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "dev-insecure-change-me")
    monkeypatch.delenv("META_APP_SECRET")
    from keloa_web import create_app

    with pytest.raises(RuntimeError) as err:
        create_app()
    assert "SECRET_KEY" in str(err.value) and "META_APP_SECRET is not set" in str(err.value)


def test_job_runs_in_a_real_worker_process_and_writes_to_the_database(app, settings):
    from keloa_web.accounts.jobs import purge_stale_records

    with db.session_scope() as s:
        s.add(Invite(token_hash="a" * 64, email="old@example.com", expires_at=utcnow() - timedelta(days=40)))
        s.add(Invite(token_hash="b" * 64, email="fresh@example.com", expires_at=utcnow() + timedelta(days=3)))
    job = purge_stale_records.enqueue()
    assert job.origin == "default"
    helpers.run_worker_burst(settings)
    db.session.expire_all()
    assert [i.email for i in db.session.scalars(select(Invite))] == ["fresh@example.com"]


def test_migrations_upgrade_and_downgrade_cleanly(database_url):
    from keloa_web.db import make_engine

    helpers.migrate(database_url)
    engine = make_engine(database_url)
    tables = set(inspect(engine).get_table_names())
    assert {"users", "channels", "conversations", "messages", "webhook_events", "reactions"} <= tables
    engine.dispose()
    helpers.migrate(database_url, "base", "downgrade")
    engine = make_engine(database_url)
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    engine.dispose()
    helpers.migrate(database_url)


def test_models_round_trip(database_url):
    from sqlalchemy.orm import Session

    from keloa_web.db import make_engine
    from keloa_web.models import Channel, Contact, Conversation, Message

    helpers.migrate(database_url)
    engine = make_engine(database_url)
    with Session(engine) as s:
        ch = Channel(ig_account_id="1784", ig_username="shop", page_id="99", page_name="Shop")
        s.add(ch)
        s.flush()
        contact = Contact(channel_id=ch.id, igsid="555", name="Maya <b>")
        s.add(contact)
        s.flush()
        conv = Conversation(channel_id=ch.id, contact_id=contact.id)
        s.add(conv)
        s.flush()
        s.add(Message(conversation_id=conv.id, channel_id=ch.id, mid="m1", direction="in", text="héllo 👋"))
        s.commit()
        msg = s.scalar(select(Message).where(Message.mid == "m1"))
        assert msg.text == "héllo 👋" and msg.status == "received"
    engine.dispose()


def test_sqlite_runs_in_wal_mode_with_foreign_keys(app):
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_migrations_have_exactly_one_head():
    from alembic.config import Config as AlembicConfig
    from alembic.script import ScriptDirectory

    heads = ScriptDirectory.from_config(AlembicConfig(str(helpers.ROOT / "alembic.ini"))).get_heads()
    assert len(heads) == 1, f"several Alembic heads {heads}: chain the newest revision onto the other"
