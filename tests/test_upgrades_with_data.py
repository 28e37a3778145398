"""Upgrades with data: a database is migrated from the first revision to head one revision at a time,
and at each revision a row is written into every table it has (as the code of that time would
have: only the columns the table had then, values its CHECK constraints allow); at head, every row
written on the way is still there. And the latest migration goes down and up again with its data."""
from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import JSON, BigInteger, Boolean, DateTime, Float, Integer, LargeBinary, MetaData, func, insert, select
from sqlalchemy.types import Date

from keloa_web.db import Base, make_engine
from keloa_web.models.search_objects import is_fts_table
from keloa_web.operations import database
from tests import helpers


def _enum_values() -> dict[tuple[str, str], list[str]]:
    """(table, column) -> the values its CHECK constraint allows, from the models."""
    import keloa_web.models  # noqa: F401

    out = {}
    for table in Base.metadata.sorted_tables:
        for check in table.constraints:
            if "enum" in getattr(check, "info", {}):
                out[(table.name, check.name.removeprefix(f"ck_{table.name}_"))] = [str(v) for v in check.info["enum"]]
    return out


def _value(table, column, step: int, latest: dict[str, int], enums: dict):
    if column.foreign_keys:
        parent = next(iter(column.foreign_keys)).column.table.name
        return latest.get(parent)
    if (table.name, column.name) in enums:
        return enums[(table.name, column.name)][0]
    kind = column.type
    if isinstance(kind, Boolean):
        return False
    if isinstance(kind, (Integer, BigInteger)):
        return 0
    if isinstance(kind, Float):
        return 0.0
    if isinstance(kind, DateTime):
        return datetime(2026, 1, 1 + step % 28, 12, 0)
    if isinstance(kind, Date):
        return datetime(2026, 1, 1).date()
    if isinstance(kind, JSON):
        return {}
    if isinstance(kind, LargeBinary):
        return b"{}"
    return f"v{step}-{column.name}"[: getattr(kind, "length", None) or 200]


def _write_a_row_everywhere(engine, step: int, latest: dict[str, int], written: dict[str, int], enums: dict) -> None:
    meta = MetaData()
    meta.reflect(engine)
    with engine.begin() as conn:
        for table in meta.sorted_tables:
            if table.name == "alembic_version" or is_fts_table(table.name):
                continue
            values = {}
            for column in table.columns:
                if column.primary_key and not column.foreign_keys and isinstance(column.type, (Integer, BigInteger)):
                    continue  # the database numbers it
                if column.nullable and not column.foreign_keys:
                    continue
                if column.server_default is not None and not column.foreign_keys:
                    continue
                values[column.name] = _value(table, column, step, latest, enums)
            if any(v is None and not table.c[k].nullable for k, v in values.items()):
                continue  # its parent table has no row yet
            result = conn.execute(insert(table).values(**values))
            if result.inserted_primary_key and len(table.primary_key.columns) == 1:
                latest[table.name] = result.inserted_primary_key[0]
            written[table.name] = written.get(table.name, 0) + 1


def test_rows_written_at_every_revision_survive_the_upgrade_to_head(database_url):
    enums = _enum_values()
    engine = make_engine(database_url)
    latest: dict[str, int] = {}
    written: dict[str, int] = {}
    revisions = database.revisions()
    assert revisions[0].startswith("0001") and revisions[-1] == helpers.head_revision()
    for step, revision in enumerate(revisions):
        helpers.migrate(database_url, revision)
        _write_a_row_everywhere(engine, step, latest, written, enums)
    assert written["messages"] == written["users"] == len(revisions)  # both exist from 0001 on
    since_0024 = len(revisions) - [r[:4] for r in revisions].index("0024")
    assert written["team_settings"] == written["backup_codes"] == since_0024  # from 0024 on
    with engine.connect() as conn:
        meta = MetaData()
        meta.reflect(engine)
        kept = {name: conn.execute(select(func.count()).select_from(meta.tables[name])).scalar_one()
                for name in written}
    assert kept == written
    # Every table of the models was written at least at head.
    assert {t.name for t in Base.metadata.sorted_tables} <= set(written)
    engine.dispose()


def test_the_latest_migration_goes_down_and_up_again_keeping_the_data(database_url):
    helpers.migrate(database_url)
    engine = make_engine(database_url)
    written: dict[str, int] = {}
    _write_a_row_everywhere(engine, 1, {}, written, _enum_values())
    helpers.migrate(database_url, "-1", direction="downgrade")
    assert database.revision_of(engine) == database.revisions()[-2]
    helpers.migrate(database_url)
    assert database.revision_of(engine) == helpers.head_revision()
    with engine.connect() as conn:
        meta = MetaData()
        meta.reflect(engine)
        assert conn.execute(select(func.count()).select_from(meta.tables["channels"])).scalar_one() == 1
        assert conn.execute(select(func.count()).select_from(meta.tables["messages"])).scalar_one() == 1
    engine.dispose()


pytestmark = pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")
