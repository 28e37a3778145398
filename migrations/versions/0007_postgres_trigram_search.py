"""Search at scale on PostgreSQL: trigram indexes (pg_trgm) of message text and contact names, and
conversations by contact

Revision ID: 0007_pg_trigram
Revises: 0006_send_drains
"""
import logging

import sqlalchemy as sa
from alembic import op

revision = "0007_pg_trigram"
down_revision = "0006_send_drains"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")

# SQLite has its FTS5 trigram tables (0003, 0005). On PostgreSQL a GIN index with pg_trgm's
# operator class answers `ILIKE '%term%'` for terms of three characters or more. pg_trgm ships with
# PostgreSQL's contrib (in the official images) and is a trusted extension since PostgreSQL 13, so
# the database owner may create it. Where it cannot be created, search still works, by reading
# every message; the migration says so and goes on.
#
# pg_trgm cuts text into words and takes trigrams inside each, so a phrase of common words
# ("voucher gift card") matches the trigrams of a third of all messages, each read to be checked.
# Messages are indexed with their spaces turned into "q": the trigrams that straddle two words
# ("rqg", "tqc") exist too, and they are rare. A search asks for the same translation of its own
# text, then confirms its candidates with the plain ILIKE, so a real "q" never makes a false match
# (see keloa_web/search/postgres.py). "q" because it is a letter in every locale, and rarely followed by
# anything but "u".
PAIRS = "translate(text, ' ', 'q')"
INDEXES = {
    "ix_messages_text_trgm": ("messages", PAIRS),
    "ix_contacts_name_trgm": ("contacts", "name"),
    "ix_contacts_username_trgm": ("contacts", "username"),
}


def upgrade() -> None:
    op.create_index("ix_conversations_contact", "conversations", ["contact_id"])
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    try:
        with bind.begin_nested():
            bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
    except sa.exc.DBAPIError as exc:
        log.warning("pg_trgm is not available (%s): search will read every message. Install PostgreSQL's "
                    "contrib package, then run `alembic downgrade 0006_send_drains && alembic upgrade head`.",
                    str(exc.orig).strip().splitlines()[0])
        return
    for name, (table, expression) in INDEXES.items():
        op.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table} USING gin (({expression}) gin_trgm_ops)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name in INDEXES:
            op.execute(f"DROP INDEX IF EXISTS {name}")
    op.drop_index("ix_conversations_contact", table_name="conversations")
