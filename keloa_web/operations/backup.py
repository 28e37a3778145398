"""Backups while Keloa runs, and restoring one into an empty instance.

A backup is one .tar.gz holding `manifest.json`, the database and `media/`:

- SQLite: SQLite's online backup API copies the database page by page while web and workers keep
  writing (each step sees one consistent state; writes during the copy restart it where needed).
- PostgreSQL: `pg_dump --format=custom --no-owner --no-privileges`, one consistent snapshot.
- The media directory is copied **after** the database, so every file a stored message refers to
  is there (a file written later is one the restored database does not know yet, which is harmless).
- The manifest has the migrations revision, each table's row count, the media files, and a
  fingerprint of SECRET_KEY (an HMAC, which does not reveal the key): Page tokens, API keys and
  two-factor secrets are encrypted with it, so a restore under another key is refused.

Restoring needs an empty database and an empty media directory (nothing is ever overwritten),
checks the fingerprint, loads the database, migrates it to this code's revision if it is older,
and checks the row counts against the manifest.
"""
from __future__ import annotations

import hashlib
import hmac
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from keloa_web.db import make_engine
from keloa_web.operations import database

FORMAT = 1
Progress = Callable[[str, int, int], None]  # (what, done, total)


class OperationError(Exception):
    """A refusal or failure, said in words for the person at the terminal."""


def secret_fingerprint(secret_key: str) -> str:
    return hmac.new(secret_key.encode(), b"keloa-backup-fingerprint-v1", hashlib.sha256).hexdigest()[:16]


def sqlite_path(url: str) -> Path | None:
    if not url.startswith("sqlite:///"):
        return None
    return Path(url[len("sqlite:///"):])


def pg_tool(name: str) -> str:
    """pg_dump or pg_restore: $PG_BIN/<name>, else on PATH, else the newest /usr/lib/postgresql."""
    candidates = [Path(os.environ["PG_BIN"]) / name] if os.environ.get("PG_BIN") else []
    found = shutil.which(name)
    if found:
        candidates.append(Path(found))
    candidates += sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True)
    for path in candidates:
        if path.is_file():
            return str(path)
    raise OperationError(f"{name} was not found: install PostgreSQL's client tools (Debian: postgresql-client) "
                         "or set PG_BIN to the folder that has it.")


def _libpq_url(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def _media_files(media_dir: Path) -> list[Path]:
    if not media_dir.is_dir():
        return []
    return sorted(p for p in media_dir.rglob("*") if p.is_file())


def _nothing(_what: str, _done: int, _total: int) -> None:
    return None


def make_backup(database_url: str, media_dir: Path, secret_key: str, out: Path,
                progress: Progress = _nothing) -> dict:
    """Write a backup of the database and media to `out` (.tar.gz); returns its manifest."""
    engine = make_engine(database_url)
    try:
        revision = database.revision_of(engine)
        if revision is None:
            raise OperationError("This database has no Keloa tables yet (run `alembic upgrade head` first).")
        with tempfile.TemporaryDirectory(prefix="keloa-backup-") as tmp:
            tmp_dir = Path(tmp)
            path = sqlite_path(database_url)
            if path is not None:
                db_file = tmp_dir / "keloa.db"
                source, target = sqlite3.connect(str(path), timeout=30), sqlite3.connect(str(db_file))
                try:
                    source.backup(target, pages=1024,
                                  progress=lambda _status, left, total: progress("database", total - left, total))
                finally:
                    target.close()
                    source.close()
                snapshot = make_engine(f"sqlite:///{db_file}")
                counts = database.counts(snapshot)
                snapshot.dispose()
                kind, member = "sqlite", "keloa.db"
            else:
                db_file = tmp_dir / "keloa.dump"
                progress("database", 0, 1)
                # One snapshot for the dump and the counts: a transaction exports it, pg_dump uses it.
                with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn, conn.begin():
                    snapshot_id = conn.exec_driver_sql("SELECT pg_export_snapshot()").scalar()
                    counts = database.counts_in(conn)
                    done = subprocess.run([pg_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges",
                                           f"--snapshot={snapshot_id}", f"--file={db_file}",
                                           "--dbname", _libpq_url(database_url)], capture_output=True, text=True)
                if done.returncode != 0:
                    raise OperationError(f"pg_dump failed: {done.stderr.strip()}")
                progress("database", 1, 1)
                kind, member = "postgresql", "keloa.dump"
            files = _media_files(media_dir)  # after the database: every file it refers to is there
            manifest = {
                "format": FORMAT, "made_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "revision": revision, "database": kind, "counts": counts,
                "media_files": len(files), "media_bytes": sum(f.stat().st_size for f in files),
                "secret_fingerprint": secret_fingerprint(secret_key),
            }
            out.parent.mkdir(parents=True, exist_ok=True)
            partial = out.with_name(out.name + ".partial")
            with tarfile.open(partial, "w:gz", compresslevel=3) as tar:
                data = json.dumps(manifest, indent=2).encode()
                info = tarfile.TarInfo("manifest.json")
                info.size, info.mode = len(data), 0o600
                tar.addfile(info, io.BytesIO(data))
                tar.add(db_file, arcname=member)
                for n, f in enumerate(files, 1):
                    tar.add(f, arcname=f"media/{f.relative_to(media_dir).as_posix()}", recursive=False)
                    if n % 200 == 0 or n == len(files):
                        progress("media", n, len(files))
            partial.chmod(0o600)  # customers' messages and encrypted tokens
            partial.replace(out)
            return manifest
    finally:
        engine.dispose()


def read_manifest(backup: Path) -> dict:
    try:
        with tarfile.open(backup, "r:gz") as tar:
            manifest = json.load(tar.extractfile("manifest.json"))
    except (OSError, tarfile.TarError, KeyError, json.JSONDecodeError) as exc:
        raise OperationError(f"{backup} is not a Keloa backup ({exc}).") from exc
    if manifest.get("format") != FORMAT:
        raise OperationError(f"{backup} is a backup of format {manifest.get('format')}; this Keloa reads {FORMAT}.")
    return manifest


def restore_backup(backup: Path, database_url: str, media_dir: Path, secret_key: str,
                   progress: Progress = _nothing) -> dict:
    """Load `backup` into the (empty) database and media directory; returns the manifest."""
    manifest = read_manifest(backup)
    mine = secret_fingerprint(secret_key)
    if manifest["secret_fingerprint"] != mine:
        raise OperationError(
            "This backup was made with another SECRET_KEY (its fingerprint is "
            f"{manifest['secret_fingerprint']}, this Keloa's is {mine}). Set SECRET_KEY to the key the backup was "
            "made with: without it, Page tokens, AI agents' API keys and two-factor secrets cannot be read.")
    known = database.revisions()
    if manifest["revision"] not in known:
        raise OperationError(f"This backup is at revision {manifest['revision']}, which this Keloa's code does not "
                             "have: restore it with the Keloa version that made it (or a newer one).")
    engine = make_engine(database_url)
    try:
        filled = database.first_rows(engine)
        if filled:
            name, n = next(iter(filled.items()))
            raise OperationError(f"The database is not empty (table {name} has {n} rows): restore into an empty one, "
                                 "so nothing is overwritten.")
        if _media_files(media_dir):
            raise OperationError(f"The media directory {media_dir} is not empty: restore into an empty one.")
        target_sqlite = sqlite_path(database_url)
        if (manifest["database"] == "sqlite") != (target_sqlite is not None):
            raise OperationError(
                f"This is a {manifest['database']} backup; restore it into the same kind of database "
                "(from SQLite to PostgreSQL: restore into SQLite, then `python -m keloa_web move-to-postgres`).")
        with tarfile.open(backup, "r:gz") as tar, tempfile.TemporaryDirectory(prefix="keloa-restore-") as tmp:
            members = [m for m in tar.getmembers() if m.isfile()]
            media = [m for m in members if m.name.startswith("media/")]
            for m in members:
                if m.name.startswith("/") or ".." in Path(m.name).parts:
                    raise OperationError(f"The backup holds a file outside its folders ({m.name}): refused.")
            progress("database", 0, 1)
            if target_sqlite is not None:
                engine.dispose()
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{target_sqlite}{suffix}").unlink(missing_ok=True)
                target_sqlite.parent.mkdir(parents=True, exist_ok=True)
                with tar.extractfile("keloa.db") as src, open(target_sqlite, "wb") as dst:
                    shutil.copyfileobj(src, dst)
                target_sqlite.chmod(0o600)
            else:
                if database.revision_of(engine) is not None or database.counts(engine):
                    raise OperationError("The PostgreSQL database already has tables: restore into a new, empty "
                                         "database (createdb keloa_restored).")
                dump = Path(tmp) / "keloa.dump"
                with tar.extractfile("keloa.dump") as src, open(dump, "wb") as dst:
                    shutil.copyfileobj(src, dst)
                done = subprocess.run([pg_tool("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error",
                                       "--dbname", _libpq_url(database_url), str(dump)], capture_output=True, text=True)
                if done.returncode != 0:
                    raise OperationError(f"pg_restore failed: {done.stderr.strip()}")
            progress("database", 1, 1)
            media_dir.mkdir(parents=True, exist_ok=True)
            for n, m in enumerate(media, 1):
                target = media_dir / Path(m.name).relative_to("media")
                target.parent.mkdir(parents=True, exist_ok=True)
                with tar.extractfile(m) as src, open(target, "wb") as dst:
                    shutil.copyfileobj(src, dst)
                if n % 200 == 0 or n == len(media):
                    progress("media", n, len(media))
        engine.dispose()
        engine = make_engine(database_url)
        restored = database.counts(engine)
        wrong = {t: (n, restored.get(t)) for t, n in manifest["counts"].items() if restored.get(t) != n}
        if wrong:
            raise OperationError("The restored database differs from the backup's manifest: "
                                 + ", ".join(f"{t} has {got} rows, not {n}" for t, (n, got) in wrong.items()))
        if manifest["revision"] != database.head_revision():
            database.migrate(database_url)
        return manifest
    finally:
        engine.dispose()
