"""Intake's one write: a received webhook body into `webhook_events`. `store_event` is all there is.

Why by hand: every webhook request does exactly this insert, and the ORM session, or even a Core
`insert()`, cost more per request than the rest of intake together (statement construction, the
unit of work, the session's transaction bookkeeping; measured with bench/bench_intake.py). So the
row goes in on a pooled DBAPI connection, with its SQL built once per engine and row count. The
values still go through the column types' own bind processors, so a row is stored exactly as the
ORM would store it (naive-UTC datetimes as SQLite text, bytes as BLOB/bytea):
tests/receive/test_store.py compares the two.

SQLite: the app's own engine and pool. Its connections are always in autocommit mode (db.py), so
the INSERT is its own transaction, committed before `execute()` returns; it holds the write lock
for microseconds and needs no company.

PostgreSQL, the pool: one of its own, in autocommit, without the pre-ping `SELECT 1` the app's pool
sends at each checkout and without the reset on return: one round trip per webhook instead of two
(measured at a fifth of intake's throughput). A connection found dead is invalidated (never handed
out again) and the insert tried once more on a fresh one; had the server committed before the
connection died, the body is stored twice, and ingest applies it once.

PostgreSQL, batching across threads: the requests of one process that arrive while an insert is on
its way queue their rows and wait on a condition variable; when that insert returns, one of them
writes every queued row in one multi-row INSERT (one commit). Each request still answers only
after its own row is committed, and an error reaches every request of its batch (Meta retries them).

One inserter per engine, found by `db.generation` (keloa_web/db.py): when the engine is replaced
(`db.init_app`, as each test's app does), the old inserter's pool is disposed and a new one built.
"""
from __future__ import annotations

import threading
from datetime import datetime

from sqlalchemy import create_engine
from sqlalchemy.engine import Engine

from keloa_web.db import db
from keloa_web.models import WebhookEvent

_COLUMNS = ("received_at", "body", "object_type", "status", "attempts", "error")


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


class _Insert:
    def __init__(self, engine: Engine) -> None:
        table = WebhookEvent.__table__
        dialect = engine.dialect
        mark = "?" if dialect.paramstyle == "qmark" else "%s"
        self.source = engine
        self.sqlite = dialect.name == "sqlite"
        self.engine = engine if self.sqlite else create_engine(
            engine.url, pool_pre_ping=False, pool_reset_on_return=None, isolation_level="AUTOCOMMIT")
        self.table, self.mark = table.name, mark
        self.processors = [table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in _COLUMNS]
        self._sql: dict[int, str] = {}
        self._cond = threading.Condition()
        self._queue: list[_Row] = []
        self._busy = False

    def sql(self, rows: int) -> str:
        found = self._sql.get(rows)
        if found is None:
            one = f"({', '.join([self.mark] * len(_COLUMNS))})"
            found = self._sql[rows] = (f"INSERT INTO {self.table} ({', '.join(_COLUMNS)}) "
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
        except BaseException as exc:  # every request of the batch answers with it
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
            self._insert(rows)  # the dead connection was thrown away: once more on a fresh one

    def _insert(self, rows: list[tuple]) -> None:
        conn = self.engine.raw_connection()
        try:
            cur = conn.cursor()  # autocommit: committed when execute() returns
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
