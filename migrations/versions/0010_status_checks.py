"""Status-like columns keep to their values: a CHECK constraint lists them (the StrEnums beside the
models in keloa_web/models/)

The lists are every value Keloa writes. A database holding another one stops the upgrade, before
anything changes, with the table, column and values to look at. On SQLite each table is rebuilt
(batch mode, foreign keys off: see migrations/env.py); the full-text triggers of `messages` (0003)
go with the old table, so they are made again.

Revision ID: 0010_status_checks
Revises: 0009_meta_signals
"""
import sqlalchemy as sa
from alembic import op

revision = "0010_status_checks"
down_revision = "0009_meta_signals"
branch_labels = None
depends_on = None

# Frozen here, not imported from the models: a value added later comes with a migration of its own.
CHECKS = {
    "users": {"role": ("admin", "agent")},
    "invites": {"role": ("admin", "agent")},
    "agents": {"backend": ("knowledge_base", "openai")},
    "channels": {
        "status": ("active", "needs_reconnect", "disconnected"),
        "backfill_state": ("running", "done", "failed"),
    },
    "conversations": {
        "status": ("open", "resolved"),
        "meta_window_state": ("untagged_refused", "closed"),
    },
    "messages": {
        "direction": ("in", "out", "note"),
        "kind": ("text", "image", "video", "audio", "file", "story_reply", "story_mention", "share", "reel",
                 "ig_post", "ig_story", "ephemeral", "unsupported", "postback", "referral", "note"),
        "author_type": ("customer", "user", "ai", "instagram", "system"),
        "status": ("received", "queued", "sending", "sent", "failed", "unknown"),
    },
    "attachments": {
        "type": ("image", "video", "audio", "file"),
        "status": ("pending", "stored", "failed"),
    },
    "webhook_events": {"status": ("pending", "done", "ignored", "failed")},
}

MESSAGES_FTS_TRIGGERS = {  # as 0003 made them
    "messages_fts_ai": """CREATE TRIGGER messages_fts_ai AFTER INSERT ON messages WHEN new.text IS NOT NULL BEGIN
         INSERT INTO messages_fts(rowid, text) VALUES (new.id, new.text); END""",
    "messages_fts_ad": """CREATE TRIGGER messages_fts_ad AFTER DELETE ON messages WHEN old.text IS NOT NULL BEGIN
         INSERT INTO messages_fts(messages_fts, rowid, text) VALUES ('delete', old.id, old.text); END""",
    "messages_fts_au": """CREATE TRIGGER messages_fts_au AFTER UPDATE OF text ON messages BEGIN
         INSERT INTO messages_fts(messages_fts, rowid, text) SELECT 'delete', old.id, old.text WHERE old.text IS NOT NULL;
         INSERT INTO messages_fts(rowid, text) SELECT new.id, new.text WHERE new.text IS NOT NULL; END""",
}


def _condition(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _refuse_unknown_values() -> None:
    bind = op.get_bind()
    found = []
    for table, columns in CHECKS.items():
        for column, values in columns.items():
            odd = bind.execute(sa.text(
                f"SELECT DISTINCT {column} FROM {table} WHERE {column} IS NOT NULL AND NOT ({_condition(column, values)})"
            )).scalars().all()
            if odd:
                found.append(f"{table}.{column}: {', '.join(repr(v) for v in sorted(odd))} (allowed: {', '.join(values)})")
    if found:
        raise RuntimeError("These rows hold values Keloa does not write; correct them, then upgrade again:\n  "
                           + "\n  ".join(found))


def _rebuild(table: str, change) -> None:
    """Apply `change(batch)` to `table`; on SQLite the rebuild drops the table's triggers, made again here."""
    sqlite = op.get_bind().dialect.name == "sqlite"
    triggers = MESSAGES_FTS_TRIGGERS if sqlite and table == "messages" else {}
    for name in triggers:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    with op.batch_alter_table(table) as batch:
        change(batch)
    for statement in triggers.values():
        op.execute(statement)


def upgrade() -> None:
    _refuse_unknown_values()
    for table, columns in CHECKS.items():
        def add(batch, table=table, columns=columns):
            for column, values in columns.items():
                batch.create_check_constraint(op.f(f"ck_{table}_{column}"), _condition(column, values))
        _rebuild(table, add)


def downgrade() -> None:
    for table, columns in CHECKS.items():
        def drop(batch, table=table, columns=columns):
            for column in columns:
                batch.drop_constraint(op.f(f"ck_{table}_{column}"), type_="check")
        _rebuild(table, drop)
