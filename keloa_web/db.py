"""Database engine and sessions (SQLAlchemy 2). Schema changes go through Alembic only."""
from __future__ import annotations

import contextlib
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

from sqlalchemy import MetaData, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, scoped_session, sessionmaker

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def utcnow() -> datetime:
    """Naive UTC now: every datetime Keloa stores is naive UTC."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


# SQLite WAL checkpoints. By default the connection whose commit takes the WAL past 1,000 pages
# copies it back into the database file, inside that commit: a webhook's answer would wait for it
# (measured: a fifth of intake's throughput). Web processes (wsgi.py) only checkpoint past this
# backstop; workers keep the default and also checkpoint every second (housekeeping.py).
WEB_WAL_AUTOCHECKPOINT = 10_000  # pages, about 40 MB


def make_engine_url(url: str) -> str:
    """The URL SQLAlchemy is given for a DATABASE_URL (PostgreSQL goes through psycopg 3)."""
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def make_engine(url: str, wal_autocheckpoint: int = 1000) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
        _sqlite_pragmas(engine, wal_autocheckpoint)
        return engine
    return create_engine(make_engine_url(url), pool_pre_ping=True)


def _sqlite_pragmas(engine: Engine, wal_autocheckpoint: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # pragma: no cover - exercised by every test
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cur = dbapi_connection.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute(f"PRAGMA wal_autocheckpoint={int(wal_autocheckpoint)}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        # Writers (jobs, non-GET requests) take the write lock up front with IMMEDIATE, so a
        # read-then-write transaction waits for its turn instead of failing with SQLITE_BUSY
        # halfway. Readers use a plain deferred BEGIN: in WAL mode they never block anyone.
        immediate = conn.get_execution_options().get("sqlite_immediate", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _track_flushes(factory: sessionmaker) -> None:
    """session.info["flushed"]: this transaction has sent changes (see Database.released)."""

    @event.listens_for(factory, "after_flush")
    def _flushed(session, _ctx):
        session.info["flushed"] = True

    @event.listens_for(factory, "after_transaction_end")
    def _ended(session, transaction):
        if transaction.parent is None:
            session.info.pop("flushed", None)


def _app_ctx_id() -> int:
    from flask.globals import _cv_app

    return id(_cv_app.get(None))


class Database:
    """Engine plus a request-scoped session; jobs use `session_scope()`.

    One object per process (`db` below), not per app: jobs, the periodic tasks' thread and intake's
    insert (webhooks/store.py) reach the database through it without an app at hand.

    `generation` counts the engines this process has had (each `configure`, so each `init_app`).
    Process-local caches that hold something learnt from one engine key it by the generation, so
    that nothing outlives a change of engine: intake's inserter (webhooks/store.py: a prepared
    statement and, on PostgreSQL, a pool of its own) and the AI job's channel eligibility
    (agents/jobs.py: a channel's settings read a moment ago, which in a process that moved to
    another database, as the tests do, would belong to some other channel).

    `attach(app)` is `init_app` for a second app object in the same process: wsgi.py serves the
    browser app and the lean webhook app (`create_callback_app`) side by side. Both must share one
    engine: `init_app` would build a second one and dispose the first, with its pool and its
    SQLite settings, under the browser app, and replace intake's inserter. When the database is
    another one (a test giving the callback app other settings), it does configure anew.
    """

    def __init__(self) -> None:
        self.engine: Engine | None = None
        self.factory: sessionmaker[Session] | None = None
        self.session: scoped_session[Session] | None = None
        self.generation = 0  # one more for each engine; see the class docstring

    def configure(self, url: str, wal_autocheckpoint: int = 1000) -> None:
        if self.engine is not None:
            self.engine.dispose()
        self.engine = make_engine(url, wal_autocheckpoint)
        self.generation += 1
        self.writer = self.engine.execution_options(sqlite_immediate=True)
        self.factory = sessionmaker(bind=self.engine, expire_on_commit=False)
        _track_flushes(self.factory)
        # One session per app context (each request, each job), like Flask-SQLAlchemy; a request
        # that may change data (anything but GET/HEAD) gets a writer session.
        self.session = scoped_session(self._request_session, scopefunc=_app_ctx_id)

    def release_idle(self) -> None:
        """End this context's transaction if it has written nothing (see `released`). The next
        query begins a new transaction; objects stay usable (expire_on_commit=False)."""
        if self.session is None or not self.session.registry.has():
            return
        session = self.session()
        if session.in_transaction() and not (session.new or session.dirty or session.deleted) \
                and not session.info.get("flushed"):
            session.commit()

    @contextlib.contextmanager
    def released(self) -> Iterator[None]:
        """Around a network call (Graph, an AI model) made while this context's session is open:
        its transaction is ended first if it has written nothing, so no lock is held while the
        network answers. A writer request takes SQLite's write lock with its first query (often
        loading the signed-in user): held across a slow Graph call, it would stall webhook intake
        and every other writer. On PostgreSQL the connection would sit idle in transaction. A
        transaction that has written keeps going (ending it would commit half a change). Jobs need
        none of this: they make their calls between their own `session_scope()` blocks."""
        self.release_idle()
        yield

    def attach(self, app) -> None:
        """Like init_app, but keep this process' engine when it already serves the same database
        (a second app object in one process, see create_callback_app)."""
        if self.engine is None or self.engine.url.render_as_string(hide_password=False) != \
                make_engine_url(app.config["DATABASE_URL"]):
            self.init_app(app)
        else:
            app.teardown_appcontext(lambda _exc: self.session.remove())

    def init_app(self, app) -> None:
        self.configure(app.config["DATABASE_URL"], app.config.get("SQLITE_WAL_AUTOCHECKPOINT", 1000))
        app.teardown_appcontext(lambda _exc: self.session.remove())

    def _request_session(self) -> Session:
        from flask import has_request_context, request

        writes = has_request_context() and request.method not in ("GET", "HEAD", "OPTIONS")
        return self.factory(bind=self.writer if writes else self.engine)

    @contextlib.contextmanager
    def session_scope(self, write: bool = True) -> Iterator[Session]:
        """A session for one unit of work: commit on success, roll back on error."""
        session = self.factory(bind=self.writer if write else self.engine)
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()


db = Database()
