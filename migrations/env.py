"""Alembic environment: the database URL comes from config.py (DATABASE_URL)."""
from __future__ import annotations

import logging
from logging.config import fileConfig

from alembic import context

import keloa_web.models  # noqa: F401  (registers every table on Base.metadata)
from config import Config
from keloa_web.db import Base, make_engine
from keloa_web.models.search_objects import include_name, include_object

config = context.config
if config.config_file_name and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = Base.metadata
# The search index lives outside the models (FTS5 tables on SQLite, pg_trgm indexes on PostgreSQL):
# without these filters `alembic revision --autogenerate` would propose dropping it.
FILTERS = {"include_name": include_name, "include_object": include_object}


def _url() -> str:
    return config.attributes.get("database_url") or Config().DATABASE_URL


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True, render_as_batch=True,
                      **FILTERS)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = make_engine(_url())
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # A batch migration rebuilds a SQLite table: copy, DROP, rename. With foreign keys on, the
            # DROP would first delete the table's rows, cascading to every row that refers to them.
            # The pragma only changes outside a transaction; the engine is disposed afterwards.
            connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True,
                          **FILTERS)
        migration = context.get_context()
        before = set(migration.get_current_heads())
        with context.begin_transaction():
            context.run_migrations()
        # SQLite commits each revision as it goes (no transactional DDL), so this can only report:
        # rows a rebuild left pointing nowhere are named, and only when a revision ran now.
        if sqlite and set(migration.get_current_heads()) != before:
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
            if broken:
                logging.getLogger("alembic.env").warning(
                    "After the upgrade, %d row(s) refer to rows that do not exist (table, rowid, parent): %s",
                    len(broken), broken[:10])
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
