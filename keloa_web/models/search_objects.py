"""The search objects that migrations create beside the models, and that no model declares.

SQLite: FTS5 trigram tables (migrations 0003, 0005), each with the shadow tables FTS5 keeps its
index in. PostgreSQL: pg_trgm GIN indexes on expressions (migration 0007), made only where the
extension can be created. Alembic's autogenerate compares the database with the models; without
these filters it would propose dropping the search index of every deployed database.
"""
from __future__ import annotations

FTS_TABLES = ("messages_fts", "contacts_fts")
FTS_SHADOW_SUFFIXES = ("_data", "_idx", "_content", "_docsize", "_config")
TRIGRAM_INDEXES = ("ix_messages_text_trgm", "ix_contacts_name_trgm", "ix_contacts_username_trgm")


def is_fts_table(name: str | None) -> bool:
    return any(name == table or name in (table + suffix for suffix in FTS_SHADOW_SUFFIXES) for table in FTS_TABLES)


def include_name(name: str | None, type_: str, _parent_names: dict) -> bool:
    """Alembic's include_name: the FTS tables are not even reflected (their columns have no type)."""
    return not (type_ == "table" and is_fts_table(name))


def include_object(obj, name: str | None, type_: str, reflected: bool, compare_to) -> bool:
    """Alembic's include_object: a trigram index found in the database is not one to drop."""
    return not (type_ == "index" and reflected and compare_to is None and name in TRIGRAM_INDEXES)
