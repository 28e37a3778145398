"""Moving from the SQLite file to PostgreSQL.

The target is migrated to the source's revision (if it has no tables yet) and must hold no rows;
then every table is copied, parents before children, in batches, **in one transaction**: a failure
part-way leaves the target as empty as it was, so the command can simply be run again. The tables'
id sequences are then set past the highest id, and each table's row count and checksum are
compared on both sides. The search index is PostgreSQL's own (trigram indexes that migration 0007
builds over the copied rows); SQLite's FTS tables are not copied. Keloa should be stopped while it
runs (a message arriving during the copy would stay behind in the SQLite file).
"""
from __future__ import annotations

from sqlalchemy import inspect, select, text

from keloa_web.db import make_engine
from keloa_web.operations import database
from keloa_web.operations.backup import OperationError, Progress, _nothing, sqlite_path

BATCH = 5000


def _copy_rows(writing, table, rows) -> None:
    """PostgreSQL's COPY of one batch, in the transaction of `writing` (several times faster than
    INSERTs); values as SQLAlchemy read them from SQLite, JSON wrapped for psycopg."""
    from psycopg.types.json import Jsonb
    from sqlalchemy import JSON

    columns = list(table.columns)
    json_at = [i for i, c in enumerate(columns) if isinstance(c.type, JSON)]
    names = ", ".join(f'"{c.name}"' for c in columns)
    cursor = writing.connection.driver_connection.cursor()
    with cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
        for row in rows:
            values = list(row)
            for i in json_at:
                if values[i] is not None:
                    values[i] = Jsonb(values[i])
            copy.write_row(values)


def move_to_postgres(source_url: str, target_url: str, progress: Progress = _nothing,
                     verify: bool = True) -> dict[str, int]:
    """Copy everything from `source_url` (SQLite) to `target_url` (an empty PostgreSQL); returns
    the row counts copied."""
    if sqlite_path(source_url) is None:
        raise OperationError(f"The source must be Keloa's SQLite database (sqlite:///…), not {source_url.split(':')[0]}.")
    if not target_url.startswith(("postgresql://", "postgresql+psycopg://")):
        raise OperationError("The target must be a PostgreSQL URL (postgresql://user:password@host/database).")
    if not sqlite_path(source_url).is_file():
        raise OperationError(f"There is no SQLite database at {sqlite_path(source_url)}.")
    source, target = make_engine(source_url), make_engine(target_url)
    try:
        revision = database.revision_of(source)
        if revision is None:
            raise OperationError("The SQLite database has no Keloa tables.")
        target_revision = database.revision_of(target)
        if target_revision is None:
            if inspect(target).get_table_names():
                raise OperationError("The PostgreSQL database has tables that are not Keloa's: use an empty database.")
            database.migrate(target_url, revision)
        elif target_revision != revision:
            raise OperationError(f"The PostgreSQL database is at revision {target_revision} and the SQLite one at "
                                 f"{revision}: migrate both to the same revision (alembic upgrade head) first.")
        filled = database.first_rows(target)
        if filled:
            name, n = next(iter(filled.items()))
            raise OperationError(f"The PostgreSQL database is not empty (table {name} has {n} rows): "
                                 "move-to-postgres copies into an empty database only.")
        counts = database.counts(source)
        total = sum(counts.values())
        done = 0
        tables = [t for t in database.tables() if t.name in counts]
        with source.connect() as reading, target.begin() as writing:
            for table in tables:
                result = reading.execution_options(stream_results=True, yield_per=BATCH).execute(
                    select(*table.columns).order_by(*database.order_of(table)))
                for rows in result.partitions(BATCH):
                    _copy_rows(writing, table, rows)
                    done += len(rows)
                    progress("rows", done, total)
            for table in tables:
                if "id" in table.c and table.c.id.primary_key and table.c.id.autoincrement:
                    writing.execute(text(
                        f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                        f"COALESCE((SELECT MAX(id) FROM {table.name}), 0) + 1, false)"))
        if verify:
            moved = database.counts(target)
            for n, table in enumerate(tables, 1):
                if moved.get(table.name) != counts[table.name]:
                    raise OperationError(f"Table {table.name}: {moved.get(table.name)} rows in PostgreSQL, "
                                         f"{counts[table.name]} in SQLite.")
                if database.checksum(source, table) != database.checksum(target, table):
                    raise OperationError(f"Table {table.name}: the copied rows differ from SQLite's (checksums).")
                progress("verified", n, len(tables))
        return counts
    finally:
        source.dispose()
        target.dispose()
