"""The operator's commands (`python -m keloa_web …`), run as a person runs them, in a subprocess:
a backup made while webhooks arrive and a worker applies them, restored elsewhere with every
message and media file; the refusals of restore (another SECRET_KEY, a database or media folder
that is not empty); create-admin; check; and PostgreSQL: its backup and restore, and the move
from SQLite with counts and checksums compared, refused into a non-empty target, re-runnable
after a failure."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import threading
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select

from keloa_web.db import db, make_engine
from keloa_web.models import Attachment, Message, User
from keloa_web.operations import database
from tests import factories, helpers
from tests.receive.util import channel, messaging, post

BIZ = "17841400000000888"


def run_cli(settings: dict, *args: str, stdin: str | None = None, **overrides) -> subprocess.CompletedProcess:
    env = {**helpers.child_env(settings), **overrides}
    return subprocess.run([sys.executable, "-m", "keloa_web", *args], cwd=helpers.ROOT, env=env, input=stdin,
                          capture_output=True, text=True, timeout=300)


def _with_media(app, n: int = 3) -> list[str]:
    """Conversations with stored media files; returns the files' paths relative to MEDIA_DIR."""
    media = Path(app.config["MEDIA_DIR"])
    paths = []
    conv = factories.gen_conversation(db.session)
    for i in range(n):
        rel = f"att/{uuid.uuid4().hex[:2]}/{i}-{uuid.uuid4().hex}.jpg"
        (media / rel).parent.mkdir(parents=True, exist_ok=True)
        (media / rel).write_bytes(os.urandom(2048))
        message = factories.gen_message(db.session, conv, text=None)
        db.session.add(Attachment(message_id=message.id, type="image", local_path=rel, size=2048, status="stored"))
        paths.append(rel)
    db.session.commit()
    return paths


def _elsewhere(tmp_path: Path, settings: dict, name: str) -> dict:
    other = tmp_path / name
    return {**settings, "KELOA_INSTANCE_DIR": str(other / "instance"), "DATABASE_URL": f"sqlite:///{other / 'keloa.db'}",
            "MEDIA_DIR": str(other / "media")}


def test_a_backup_made_while_webhooks_arrive_restores_elsewhere_with_every_message_and_file(
        app, settings, client, worker, tmp_path):
    channel(BIZ)
    files = _with_media(app)
    stop, posted = threading.Event(), []

    def arrive():
        n = 0
        while not stop.is_set():
            ts = int(time.time() * 1000)
            body = {"object": "instagram", "entry": [{"id": BIZ, "time": ts, "messaging": [
                messaging(f"90000000000{n % 5:04d}", BIZ, ts, message={"mid": f"load-{n}", "text": f"hello {n}"})]}]}
            assert post(helpers.Client(app), body).status_code == 200
            posted.append(n)
            n += 1
            time.sleep(0.02)

    sender = threading.Thread(target=arrive)
    sender.start()
    try:
        def applied() -> int:
            db.session.rollback()
            return db.session.scalar(select(func.count()).select_from(Message).where(Message.mid.like("load-%")))

        helpers.wait_until(lambda: applied() > 5, 60, message="the worker applying webhooks")
        out = tmp_path / "backup.tar.gz"
        done = run_cli(settings, "backup", "--out", str(out))
        assert done.returncode == 0, done.stderr
        assert f"Backup written to {out}" in done.stdout and "Keep SECRET_KEY with it" in done.stdout
        during = len(posted)
        helpers.wait_until(lambda: len(posted) > during + 3, 10, message="more webhooks after the backup")
    finally:
        stop.set()
        sender.join()
    manifest = json.load(tarfile.open(out).extractfile("manifest.json"))
    assert manifest["revision"] == helpers.head_revision() and manifest["media_files"] == len(files)
    assert oct(out.stat().st_mode & 0o777) == "0o600"

    target = _elsewhere(tmp_path, settings, "restored")
    done = run_cli(target, "restore", str(out))
    assert done.returncode == 0, done.stderr
    assert f"{manifest['counts']['messages']} messages, {len(files)} media files" in done.stdout
    restored = make_engine(target["DATABASE_URL"])
    with restored.connect() as conn:
        mids = set(conn.execute(select(Message.mid)).scalars())
        stored = conn.execute(select(Attachment.local_path).where(Attachment.local_path.is_not(None))).scalars().all()
    restored.dispose()
    assert len(mids) == manifest["counts"]["messages"] and sum(m.startswith("load-") for m in mids if m) > 0
    for rel in stored:  # every file the restored database refers to is there, byte for byte
        assert (Path(target["MEDIA_DIR"]) / rel).read_bytes() == (Path(settings["MEDIA_DIR"]) / rel).read_bytes()
    assert sorted(stored) == sorted(files)


def test_restore_refuses_another_secret_key_and_anything_it_would_overwrite(app, settings, tmp_path):
    _with_media(app, 1)
    out = tmp_path / "b.tar.gz"
    assert run_cli(settings, "backup", "--out", str(out)).returncode == 0
    target = _elsewhere(tmp_path, settings, "other")
    wrong = run_cli(target, "restore", str(out), SECRET_KEY="another-secret-key-that-is-long-enough-98765")
    assert wrong.returncode == 1 and "This backup was made with another SECRET_KEY" in wrong.stderr
    assert not Path(target["DATABASE_URL"][len("sqlite:///"):]).exists()  # nothing was written
    # Into the database it came from: not empty, refused, nothing lost.
    before = db.session.scalar(select(func.count()).select_from(Message))
    busy = run_cli(settings, "restore", str(out))
    assert busy.returncode == 1 and "The database is not empty (table" in busy.stderr
    assert db.session.scalar(select(func.count()).select_from(Message)) == before
    # An empty database but a media folder with files in it.
    media = Path(target["MEDIA_DIR"])
    media.mkdir(parents=True)
    (media / "keep.jpg").write_bytes(b"mine")
    full = run_cli(target, "restore", str(out))
    assert full.returncode == 1 and "is not empty: restore into an empty one" in full.stderr
    assert run_cli(target, "restore", str(tmp_path / "nope.tar.gz")).returncode == 2  # click: no such file
    (tmp_path / "junk.tar.gz").write_bytes(b"not a backup")
    junk = run_cli(target, "restore", str(tmp_path / "junk.tar.gz"))
    assert "is not a Keloa backup" in junk.stderr


def test_create_admin_and_check(app, settings):
    done = run_cli(settings, "create-admin", "--email", "Root@Example.com", "--name", "Root",
                   stdin="a long password 1\na long password 1\n")
    assert done.returncode == 0, done.stderr
    assert "Admin root@example.com created" in done.stdout
    user = db.session.scalar(select(User).where(User.email == "root@example.com"))
    assert user.is_admin
    helpers.Client(app).login("root@example.com", "a long password 1")
    again = run_cli(settings, "create-admin", "--email", "root@example.com", "--name", "R", "--password", "x" * 12)
    assert again.returncode == 1 and "An account with root@example.com exists already." in again.stderr
    short = run_cli(settings, "create-admin", "--email", "x@example.com", "--name", "R", "--password", "short")
    assert short.returncode == 2 and "Use at least 10 characters." in short.stderr
    report = run_cli(settings, "check")
    lines = {line.split()[1]: line for line in report.stdout.splitlines()}
    assert lines["database"].startswith("ok") and f"revision {helpers.head_revision()}" in lines["database"]
    assert lines["redis"].startswith("ok") and lines["workers"].startswith("FAIL")  # none runs in this test
    assert lines["meta"].startswith("FAIL") and "cannot be reached" in lines["meta"]  # GRAPH_API_BASE: port 9
    assert report.returncode == 1


def _fill_with_every_event_kind(app, settings) -> None:
    """The fault test's 2,000 events (messages, echoes, reactions, reads, edits, deletions…), applied."""
    import random

    from tests.receive.test_fault import BIZ as FAULT_BIZ, _scenario

    channel(FAULT_BIZ)
    bodies, _expected = _scenario(random.Random(7))
    sender = helpers.Client(app)
    for body in bodies[:600]:
        assert post(sender, body).status_code == 200
    helpers.run_worker_burst(settings, timeout=240)
    factories.gen_reaction(db.session, factories.gen_message(db.session, factories.gen_conversation(db.session)), "1")
    db.session.commit()


@pytest.mark.postgres
def test_move_to_postgres_copies_every_table_and_verifies_it(app, settings, postgres_url, monkeypatch):
    _fill_with_every_event_kind(app, settings)
    _with_media(app, 2)
    source = make_engine(settings["DATABASE_URL"])
    counts = database.counts(source)
    assert counts["messages"] > 400 and counts["webhook_events"] >= 600 and counts["reactions"] > 0

    # A failure part-way leaves the target empty: the command can be run again.
    from keloa_web.operations import move

    real_copy = move._copy_rows

    def failing_copy(writing, table, rows):
        if table.name == "messages":
            raise RuntimeError("the disk filled up")
        return real_copy(writing, table, rows)

    monkeypatch.setattr(move, "_copy_rows", failing_copy)
    with pytest.raises(RuntimeError):
        move.move_to_postgres(settings["DATABASE_URL"], postgres_url)
    target = make_engine(postgres_url)
    assert database.first_rows(target) == {}
    monkeypatch.undo()

    done = run_cli(settings, "move-to-postgres", "--to", postgres_url)
    assert done.returncode == 0, done.stderr
    assert f"Copied {sum(counts.values())} rows in" in done.stdout and "counts and checksums match" in done.stdout
    assert database.counts(target) == counts
    for table in database.tables():
        assert database.checksum(source, table) == database.checksum(target, table), table.name
    # Sequences continue past the copied ids: Keloa on PostgreSQL inserts without clashing.
    with target.begin() as conn:
        new_id = conn.execute(User.__table__.insert().values(
            email="new@example.com", name="New", password_hash="x", role="agent", active=True, session_version=1,
            created_at=database.datetime.now(), time_zone="", totp_last_step=0, availability="online")
            .returning(User.__table__.c.id)).scalar_one()
    assert new_id > max([0, *db.session.scalars(select(User.id))])
    again = run_cli(settings, "move-to-postgres", "--to", postgres_url)
    assert again.returncode == 1 and "The PostgreSQL database is not empty (table" in again.stderr
    source.dispose()
    target.dispose()


@pytest.mark.postgres
def test_a_postgresql_backup_restores_into_an_empty_database(app, settings, postgres_url, tmp_path):
    import psycopg

    helpers.migrate(postgres_url)
    pg = {**settings, "DATABASE_URL": postgres_url}
    engine = make_engine(postgres_url)
    from sqlalchemy.orm import Session

    with Session(engine) as s:
        conv = factories.gen_conversation(s)
        for i in range(5):
            factories.gen_message(s, conv, text=f"kept {i}")
        s.commit()
    out = tmp_path / "pg.tar.gz"
    done = run_cli(pg, "backup", "--out", str(out))
    assert done.returncode == 0, done.stderr
    name = f"keloa_restored_{uuid.uuid4().hex[:8]}"
    admin_url = os.environ["KELOA_TEST_POSTGRES_URL"]
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        target_url = admin_url.rsplit("/", 1)[0] + f"/{name}"
        target = {**pg, "DATABASE_URL": target_url, "MEDIA_DIR": str(tmp_path / "restored-media")}
        done = run_cli(target, "restore", str(out))
        assert done.returncode == 0, done.stderr
        restored = make_engine(target_url)
        with restored.connect() as conn:
            texts = set(conn.execute(select(Message.text)).scalars())
        restored.dispose()
        assert {f"kept {i}" for i in range(5)} <= texts
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        engine.dispose()


def test_restore_refuses_a_database_of_another_application_and_a_damaged_backup(app, settings, tmp_path):
    import sqlite3

    files = _with_media(app, 2)
    out = tmp_path / "b.tar.gz"
    assert run_cli(settings, "backup", "--out", str(out)).returncode == 0
    again = run_cli(settings, "backup", "--out", str(out))
    assert again.returncode == 1 and "exists already" in again.stderr  # never over a file
    target = _elsewhere(tmp_path, settings, "other")
    other_db = Path(target["DATABASE_URL"][len("sqlite:///"):])
    other_db.parent.mkdir(parents=True)
    conn = sqlite3.connect(other_db)
    conn.execute("create table precious(x)")
    conn.execute("insert into precious values (42)")
    conn.commit()
    conn.close()
    refused = run_cli(target, "restore", str(out))
    assert refused.returncode == 1 and "tables that are not Keloa's (precious)" in refused.stderr
    assert sqlite3.connect(other_db).execute("select x from precious").fetchone() == (42,)  # untouched
    other_db.unlink()
    # A backup with a media file missing, and one cut short: refused before anything is written.
    import tarfile

    short = tmp_path / "short.tar.gz"
    with tarfile.open(out) as src, tarfile.open(short, "w:gz") as dst:
        for m in src.getmembers():
            if m.name != f"media/{files[0]}":
                dst.addfile(m, src.extractfile(m) if m.isfile() else None)
    missing = run_cli(target, "restore", str(short))
    assert missing.returncode == 1 and "holds 1 media files, its manifest says 2" in missing.stderr
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(out.read_bytes()[: out.stat().st_size // 2])
    damaged = run_cli(target, "restore", str(cut))
    assert damaged.returncode == 1 and "damaged" in damaged.stderr and "Traceback" not in damaged.stderr
    assert not other_db.exists() and not any(Path(target["MEDIA_DIR"]).glob("**/*.jpg"))
    done = run_cli(target, "restore", str(out))
    assert done.returncode == 0 and "2 media files" in done.stdout
    restored = Path(target["MEDIA_DIR"]) / files[0]
    assert oct(restored.stat().st_mode & 0o777) == "0o600" and oct(other_db.stat().st_mode & 0o777) == "0o600"


def test_a_failure_of_the_machine_is_one_line_not_a_traceback(settings):
    done = run_cli(settings, "move-to-postgres", "--to", "postgresql://nobody@127.0.0.1:9/none")
    assert done.returncode == 1 and "Traceback" not in done.stderr and "Error:" in done.stderr
    blank = run_cli(settings, "create-admin", "--email", "x@example.com", "--name", "   ", "--password", "x" * 12)
    assert blank.returncode == 2 and "Give a name of 1 to 120 characters." in blank.stderr
