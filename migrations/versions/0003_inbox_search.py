"""Inbox at scale: unread count index, and a trigram full-text index of message text (SQLite)

Revision ID: 0003_inbox_search
Revises: 0002_ai_agents
"""
from alembic import op

revision = "0003_inbox_search"
down_revision = "0002_ai_agents"
branch_labels = None
depends_on = None

# SQLite's FTS5 trigram tokenizer indexes every 3-character sequence, so a substring search
# ("%voucher%") is answered from the index instead of reading every message. External content:
# the text stays in `messages`; triggers keep the index in step with every insert, update, delete.
SQLITE_FTS = [
    "CREATE VIRTUAL TABLE messages_fts USING fts5(text, content='messages', content_rowid='id', tokenize='trigram')",
    "INSERT INTO messages_fts(rowid, text) SELECT id, text FROM messages WHERE text IS NOT NULL",
    """CREATE TRIGGER messages_fts_ai AFTER INSERT ON messages WHEN new.text IS NOT NULL BEGIN
         INSERT INTO messages_fts(rowid, text) VALUES (new.id, new.text); END""",
    """CREATE TRIGGER messages_fts_ad AFTER DELETE ON messages WHEN old.text IS NOT NULL BEGIN
         INSERT INTO messages_fts(messages_fts, rowid, text) VALUES ('delete', old.id, old.text); END""",
    """CREATE TRIGGER messages_fts_au AFTER UPDATE OF text ON messages BEGIN
         INSERT INTO messages_fts(messages_fts, rowid, text) SELECT 'delete', old.id, old.text WHERE old.text IS NOT NULL;
         INSERT INTO messages_fts(rowid, text) SELECT new.id, new.text WHERE new.text IS NOT NULL; END""",
]


def upgrade() -> None:
    op.create_index("ix_conversations_unread", "conversations", ["status", "unread_count"])
    if op.get_bind().dialect.name == "sqlite":
        for statement in SQLITE_FTS:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in ("messages_fts_au", "messages_fts_ad", "messages_fts_ai"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS messages_fts")
    op.drop_index("ix_conversations_unread", table_name="conversations")
