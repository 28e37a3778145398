"""The one write on the webhook hot path: the raw body into `webhook_events`, on a pooled DBAPI
connection with a statement prepared once per engine.

Measured (bench/bench_intake.py): the ORM session and even a Core `insert()` cost more per request
than the rest of intake together (statement construction, the unit of work, the session's
transaction bookkeeping), and every request does exactly this one insert. The values still go
through the column types' own bind processors, so rows are stored exactly as SQLAlchemy would store
them (naive-UTC datetimes as SQLite text, bytes as BLOB/bytea).
"""
from __future__ import annotations

import threading
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
        self.table, self.mark = table.name, mark
        self.processors = [table.c[name].type.bind_processor(dialect) for name in COLUMNS]
        self._sql: dict[int, str] = {}
        # PostgreSQL: the requests of one process that arrive while an insert is on its way share
        # the next one (a multi-row INSERT, one commit): each still answers only after its row is
        # committed. SQLite's insert takes microseconds and needs no company.
        self._cond = threading.Condition()
        self._queue: list[_Row] = []
        self._busy = False

    def sql(self, rows: int) -> str:
        found = self._sql.get(rows)
        if found is None:
            one = f"({', '.join([self.mark] * len(COLUMNS))})"
            found = self._sql[rows] = (f"INSERT INTO {self.table} ({', '.join(COLUMNS)}) "
                                       f"VALUES {', '.join([one] * rows)}")
        return found

    def __call__(self, values: tuple) -> None:
        params = tuple(p(v) if p is not None and v is not None else v for p, v in zip(self.processors, values))
        if self.sqlite:
            self._insert([params])
            return
        row = _Row(params)
        with self._cond:
            self._queue.append(row)
            while not row.done and self._busy:
                self._cond.wait()
            if row.done:
                if row.error is not None:
                    raise row.error
                return
            self._busy = True  # this request writes every row queued so far, its own included
            batch, self._queue = self._queue, []
        error = None
        try:
            self._insert_retrying([r.params for r in batch])
        except BaseException as exc:  # every request of the batch answers with it (Meta retries)
            error = exc
        with self._cond:
            for r in batch:
                r.done, r.error = True, error
            self._busy = False
            self._cond.notify_all()
        if error is not None:
            raise error

    def _insert_retrying(self, rows: list[tuple]) -> None:
        try:
            self._insert(rows)
        except self.engine.dialect.loaded_dbapi.OperationalError:
            # The connection was thrown away: once more on a fresh one. (Had the server committed
            # before the connection died, the bodies are stored twice; ingest applies them once.)
            self._insert(rows)

    def _insert(self, rows: list[tuple]) -> None:
        conn = self.engine.raw_connection()
        try:
            # Autocommit: the INSERT is its own transaction, committed before execute() returns
            # (SQLite's connections are always in this mode, see db.py, and hold the write lock
            # for microseconds).
            cur = conn.cursor()
            cur.execute(self.sql(len(rows)), [v for row in rows for v in row])
            cur.close()
        except self.engine.dialect.loaded_dbapi.OperationalError as exc:
            if not self.sqlite:
                conn.invalidate(exc)  # the connection may be dead: never hand it out again
            raise
        finally:
            conn.close()  # back to the pool


class _Row:
    __slots__ = ("params", "done", "error")

    def __init__(self, params: tuple) -> None:
        self.params, self.done, self.error = params, False, None


_cache: dict[int, _Insert] = {}


def store_event(received_at: datetime, body: bytes, object_type: str | None, status: str,
                error: str | None = None) -> None:
    """Insert one received webhook body; returns once it is committed."""
    insert = _cache.get(db.generation)
    if insert is None or insert.source is not db.engine:
        for old in _cache.values():
            if old.engine is not old.source:
                old.engine.dispose()
        _cache.clear()
        insert = _cache[db.generation] = _Insert(db.engine)
    insert((received_at, body, object_type, status, 0, error))
