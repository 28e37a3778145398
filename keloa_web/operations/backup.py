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
import zlib
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
    if out.exists():
        raise OperationError(f"{out} exists already: choose another --out (a backup never overwrites a file).")
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


_MANIFEST_KEYS = {"format": int, "revision": str, "database": str, "counts": dict, "media_files": int,
                  "secret_fingerprint": str, "made_at": str}


def read_manifest(backup: Path) -> dict:
    try:
        with tarfile.open(backup, "r:gz") as tar:
            manifest = json.load(tar.extractfile("manifest.json"))
    except (OSError, EOFError, tarfile.TarError, KeyError, json.JSONDecodeError, zlib.error, AttributeError) as exc:
        raise OperationError(f"{backup} is not a Keloa backup, or it is damaged ({type(exc).__name__}).") from exc
    if not isinstance(manifest, dict) or any(not isinstance(manifest.get(k), t) for k, t in _MANIFEST_KEYS.items()):
        raise OperationError(f"{backup} has no readable manifest: it is not a Keloa backup, or it is damaged.")
    if manifest["format"] != FORMAT:
        raise OperationError(f"{backup} is a backup of format {manifest['format']}; this Keloa reads {FORMAT}.")
    return manifest


def _unpack(backup: Path, manifest: dict, into: Path) -> tuple[Path, list[tuple[str, Path]]]:
    """The whole archive read into a temporary folder first (a damaged or truncated one is refused
    before anything is written where Keloa lives); returns the database file and the media files."""
    member = "keloa.db" if manifest["database"] == "sqlite" else "keloa.dump"
    media: list[tuple[str, Path]] = []
    db_file = None
    try:
        with tarfile.open(backup, "r:gz") as tar:
            for m in tar:
                if not m.isfile():
                    continue
                parts = Path(m.name).parts
                if m.name.startswith("/") or ".." in parts:
                    raise OperationError(f"The backup holds a file outside its folders ({m.name}): refused.")
                if m.name == member:
                    db_file = into / member
                    target = db_file
                elif parts[0] == "media" and len(parts) > 1:
                    target = into / "media" / Path(*parts[1:])
                    media.append((Path(*parts[1:]).as_posix(), target))
                else:
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                with tar.extractfile(m) as src, open(target, "wb") as dst:
                    shutil.copyfileobj(src, dst)
    except (OSError, EOFError, tarfile.TarError, zlib.error) as exc:
        raise OperationError(f"{backup} is damaged or incomplete ({type(exc).__name__}): nothing was restored.") from exc
    if db_file is None:
        raise OperationError(f"{backup} holds no database ({member}): nothing was restored.")
    if len(media) != manifest["media_files"]:
        raise OperationError(f"{backup} holds {len(media)} media files, its manifest says {manifest['media_files']}: "
                             "it is incomplete, nothing was restored.")
    if manifest["database"] == "sqlite":
        try:
            conn = sqlite3.connect(str(db_file))
            ok = conn.execute("PRAGMA integrity_check").fetchone()[0]
            conn.close()
        except sqlite3.DatabaseError as exc:
            ok = str(exc)
        if ok != "ok":
            raise OperationError(f"The database in {backup} is damaged ({ok}): nothing was restored.")
    return db_file, media


def _foreign_tables(engine) -> list[str]:
    """Tables of this database that are not Keloa's (nor its search index or migrations table)."""
    from sqlalchemy import inspect

    from keloa_web.models.search_objects import is_fts_table

    ours = {t.name for t in database.tables()} | {"alembic_version"}
    return [t for t in inspect(engine).get_table_names() if t not in ours and not is_fts_table(t)
            and not t.startswith("sqlite_")]


def _private(path: Path, folder: bool = False) -> None:
    path.chmod(0o700 if folder else 0o600)


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
    if manifest["revision"] not in database.revisions():
        raise OperationError(f"This backup is at revision {manifest['revision']}, which this Keloa's code does not "
                             "have: restore it with the Keloa version that made it (or a newer one).")
    target_sqlite = sqlite_path(database_url)
    if (manifest["database"] == "sqlite") != (target_sqlite is not None):
        raise OperationError(
            f"This is a {manifest['database']} backup; restore it into the same kind of database "
            "(from SQLite to PostgreSQL: restore into SQLite, then `python -m keloa_web move-to-postgres`).")
    existed = target_sqlite is None or target_sqlite.exists()
    engine = make_engine(database_url)
    try:
        try:
            foreign = _foreign_tables(engine)
            filled = database.first_rows(engine)
        except Exception as exc:  # noqa: BLE001 - a file that is not a database, a server that does not answer
            raise OperationError(f"The target database cannot be read ({type(exc).__name__}: {exc}).") from exc
        if foreign:
            raise OperationError(f"The database holds tables that are not Keloa's ({', '.join(sorted(foreign)[:3])}): "
                                 "restore into an empty one, so nothing is overwritten.")
        if filled:
            name, n = next(iter(filled.items()))
            raise OperationError(f"The database is not empty (table {name} has {n} row{'' if n == 1 else 's'}): "
                                 "restore into an empty one, so nothing is overwritten.")
        if target_sqlite is None and (database.revision_of(engine) is not None or database.counts(engine)):
            raise OperationError("The PostgreSQL database already has tables: restore into a new, empty "
                                 "database (createdb keloa_restored).")
        if _media_files(media_dir):
            raise OperationError(f"The media directory {media_dir} is not empty: restore into an empty one.")
        with tempfile.TemporaryDirectory(prefix="keloa-restore-") as tmp:
            progress("reading the backup", 0, 1)
            db_file, media = _unpack(backup, manifest, Path(tmp))
            progress("reading the backup", 1, 1)
            progress("database", 0, 1)
            if target_sqlite is not None:
                engine.dispose()
                for suffix in ("", "-wal", "-shm"):  # empty of Keloa's rows and of anything else: checked above
                    Path(f"{target_sqlite}{suffix}").unlink(missing_ok=True)
                target_sqlite.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(db_file, target_sqlite)
                _private(target_sqlite)
            else:
                done = subprocess.run([pg_tool("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error",
                                       "--dbname", _libpq_url(database_url), str(db_file)], capture_output=True, text=True)
                if done.returncode != 0:
                    raise OperationError(f"pg_restore failed: {done.stderr.strip()}")
            progress("database", 1, 1)
            media_dir.mkdir(parents=True, exist_ok=True)
            _private(media_dir, folder=True)
            for n, (relative, source) in enumerate(media, 1):
                target = media_dir / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                _private(target.parent, folder=True)
                shutil.copyfile(source, target)
                _private(target)
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
        manifest["media_restored"] = len(media)
        return manifest
    except OperationError:
        if not existed and target_sqlite is not None:
            engine.dispose()
            for suffix in ("", "-wal", "-shm"):  # the empty file opening it made: nothing is left behind
                Path(f"{target_sqlite}{suffix}").unlink(missing_ok=True)
        raise
    finally:
        engine.dispose()
