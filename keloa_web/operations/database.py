"""What the operations commands need to know about a database: its migrations revision, the tables
Keloa keeps (in an order foreign keys allow), their row counts, a checksum of their contents that
reads the same on SQLite and PostgreSQL, and whether a database is empty."""
from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy import Engine, Table, func, inspect, select, text

from keloa_web.db import Base

ROOT = Path(__file__).resolve().parent.parent.parent


def alembic_config(url: str):
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig(str(ROOT / "alembic.ini"))
    cfg.attributes["database_url"] = url
    cfg.attributes["configure_logger"] = False
    return cfg


def migrate(url: str, revision: str = "head") -> None:
    from alembic import command

    command.upgrade(alembic_config(url), revision)


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def revisions() -> list[str]:
    """Every revision from the first to head, in order."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    return [r.revision for r in reversed(list(script.walk_revisions()))]


def revision_of(engine: Engine) -> str | None:
    if not inspect(engine).has_table("alembic_version"):
        return None
    with engine.connect() as conn:
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def tables() -> list[Table]:
    """Keloa's tables, parents before children (the search objects of migrations are not tables of
    the models: they are rebuilt from these)."""
    import keloa_web.models  # noqa: F401  (registers every table on Base.metadata)

    return list(Base.metadata.sorted_tables)


def counts(engine: Engine) -> dict[str, int]:
    """Row counts of Keloa's tables that exist in this database."""
    with engine.connect() as conn:
        return counts_in(conn)


def counts_in(conn) -> dict[str, int]:
    present = set(inspect(conn).get_table_names())
    return {table.name: conn.execute(select(func.count()).select_from(table)).scalar_one()
            for table in tables() if table.name in present}


def first_rows(engine: Engine) -> dict[str, int]:
    """The tables that hold rows (name -> count): empty means nothing would be overwritten."""
    return {name: n for name, n in counts(engine).items() if n}


def order_of(table: Table) -> list:
    return list(table.primary_key.columns) or list(table.columns)


def _plain(value):
    """One value as the same text whichever database it was read from."""
    if value is None:
        return None
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).hex()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    return value


def checksum(engine: Engine, table: Table, batch: int = 5000) -> str:
    """SHA-256 of the table's rows in primary-key order, each value normalised by `_plain`."""
    digest = hashlib.sha256()
    with engine.connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=batch).execute(
            select(*table.columns).order_by(*order_of(table)))
        for row in result:
            digest.update(json.dumps([_plain(v) for v in row], ensure_ascii=False, default=str).encode())
            digest.update(b"\n")
    return digest.hexdigest()
