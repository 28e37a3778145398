"""The one write on the webhook hot path: the raw body into `webhook_events`, on a pooled DBAPI
connection with a statement prepared once per engine.

Measured (bench/bench_intake.py): the ORM session and even a Core `insert()` cost more per request
than the rest of intake together (statement construction, the unit of work, the session's
transaction bookkeeping), and every request does exactly this one insert. The values still go
through the column types' own bind processors, so rows are stored exactly as SQLAlchemy would store
them (naive-UTC datetimes as SQLite text, bytes as BLOB/bytea).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.engine import Engine

from keloa_web.db import db
from keloa_web.models import WebhookEvent

COLUMNS = ("received_at", "body", "object_type", "status", "attempts", "error")


class _Insert:
    def __init__(self, engine: Engine) -> None:
        table = WebhookEvent.__table__
        dialect = engine.dialect
        mark = "?" if dialect.paramstyle == "qmark" else "%s"
        self.engine = engine
        self.sqlite = dialect.name == "sqlite"
        self.sql = (f"INSERT INTO {table.name} ({', '.join(COLUMNS)}) "
                    f"VALUES ({', '.join([mark] * len(COLUMNS))})")
        if not self.sqlite:
            self.sql += " RETURNING id"
        self.processors = [table.c[name].type.bind_processor(dialect) for name in COLUMNS]

    def __call__(self, values: tuple) -> int:
        params = tuple(p(v) if p is not None and v is not None else v for p, v in zip(self.processors, values))
        conn = self.engine.raw_connection()
        try:
            # Autocommit: the INSERT is its own transaction, committed before execute() returns,
            # in one round trip (SQLite's connections are always in this mode, see db.py, and
            # hold the write lock for microseconds).
            if not self.sqlite:
                conn.driver_connection.autocommit = True
            cur = conn.cursor()
            cur.execute(self.sql, params)
            event_id = cur.lastrowid if self.sqlite else cur.fetchone()[0]
            cur.close()
            return event_id
        finally:
            if not self.sqlite:
                conn.driver_connection.autocommit = False  # as SQLAlchemy expects it back
            conn.close()  # back to the pool


_cache: dict[int, _Insert] = {}


def store_event(received_at: datetime, body: bytes, object_type: str | None, status: str,
                error: str | None = None) -> int:
    """Insert one received webhook body; returns its id once it is committed."""
    insert = _cache.get(db.generation)
    if insert is None or insert.engine is not db.engine:
        _cache.clear()
        insert = _cache[db.generation] = _Insert(db.engine)
    return insert((received_at, body, object_type, status, 0, error))
