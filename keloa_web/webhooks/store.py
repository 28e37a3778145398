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

from sqlalchemy import create_engine
from sqlalchemy.engine import Engine

from keloa_web.db import db
from keloa_web.models import WebhookEvent

COLUMNS = ("received_at", "body", "object_type", "status", "attempts", "error")


class _Insert:
    def __init__(self, engine: Engine) -> None:
        table = WebhookEvent.__table__
        dialect = engine.dialect
        mark = "?" if dialect.paramstyle == "qmark" else "%s"
        self.source = engine
        self.sqlite = dialect.name == "sqlite"
        # PostgreSQL: a pool of its own, in autocommit, without the pre-ping `SELECT 1` the app's
        # pool sends at each checkout nor the reset on return: one round trip per webhook instead
        # of two (measured at a fifth of intake's throughput). A connection found dead is thrown
        # away and the insert tried once more on a fresh one.
        self.engine = engine if self.sqlite else create_engine(
            engine.url, pool_pre_ping=False, pool_reset_on_return=None, isolation_level="AUTOCOMMIT")
        self.sql = (f"INSERT INTO {table.name} ({', '.join(COLUMNS)}) "
                    f"VALUES ({', '.join([mark] * len(COLUMNS))})")
        if not self.sqlite:
            self.sql += " RETURNING id"
        self.processors = [table.c[name].type.bind_processor(dialect) for name in COLUMNS]

    def __call__(self, values: tuple) -> int:
        params = tuple(p(v) if p is not None and v is not None else v for p, v in zip(self.processors, values))
        try:
            return self._insert(params)
        except self.engine.dialect.loaded_dbapi.OperationalError:
            if self.sqlite:
                raise  # "database is locked" after busy_timeout: a retry would not help
            # The connection was thrown away: once more on a fresh one. (Had the server committed
            # before the connection died, the body is stored twice; ingest applies it once.)
            return self._insert(params)

    def _insert(self, params: tuple) -> int:
        conn = self.engine.raw_connection()
        try:
            # Autocommit: the INSERT is its own transaction, committed before execute() returns
            # (SQLite's connections are always in this mode, see db.py, and hold the write lock
            # for microseconds).
            cur = conn.cursor()
            cur.execute(self.sql, params)
            event_id = cur.lastrowid if self.sqlite else cur.fetchone()[0]
            cur.close()
            return event_id
        except self.engine.dialect.loaded_dbapi.OperationalError as exc:
            if not self.sqlite:
                conn.invalidate(exc)  # the connection may be dead: never hand it out again
            raise
        finally:
            conn.close()  # back to the pool


_cache: dict[int, _Insert] = {}


def store_event(received_at: datetime, body: bytes, object_type: str | None, status: str,
                error: str | None = None) -> int:
    """Insert one received webhook body; returns its id once it is committed."""
    insert = _cache.get(db.generation)
    if insert is None or insert.source is not db.engine:
        for old in _cache.values():
            if old.engine is not old.source:
                old.engine.dispose()
        _cache.clear()
        insert = _cache[db.generation] = _Insert(db.engine)
    return insert((received_at, body, object_type, status, 0, error))
