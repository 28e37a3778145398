"""Database housekeeping, run periodically by the workers (keloa_web/jobs.py, SCHEDULE)."""
from __future__ import annotations

from keloa_web.db import db


def checkpoint_sqlite_wal() -> None:
    """Copy SQLite's WAL back into the database file off the web processes' path (see db.py).

    PASSIVE never waits for readers or writers: it copies what it can and the next round goes on.
    """
    if db.engine is None or db.engine.dialect.name != "sqlite":
        return
    conn = db.engine.raw_connection()  # autocommit: a checkpoint cannot run inside a transaction
    try:
        conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
    finally:
        conn.close()
