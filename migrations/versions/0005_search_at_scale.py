"""Search at scale: the list in activity order across every status, and a trigram index of names

Revision ID: 0005_search_at_scale
Revises: 0004_merge
"""
from alembic import op

revision = "0005_search_at_scale"
down_revision = "0004_merge"
branch_labels = None
depends_on = None

# The "All" list (and a search in it) walks conversations newest first: without this index SQLite
# sorted all of them, testing each for the search first. Contacts get the same trigram index as
# messages (0003), so a search by name or @username does not read every contact.
SQLITE_FTS = [
    "CREATE VIRTUAL TABLE contacts_fts USING fts5(name, username, content='contacts', content_rowid='id', "
    "tokenize='trigram')",
    "INSERT INTO contacts_fts(rowid, name, username) SELECT id, name, username FROM contacts",
    """CREATE TRIGGER contacts_fts_ai AFTER INSERT ON contacts BEGIN
         INSERT INTO contacts_fts(rowid, name, username) VALUES (new.id, new.name, new.username); END""",
    """CREATE TRIGGER contacts_fts_ad AFTER DELETE ON contacts BEGIN
         INSERT INTO contacts_fts(contacts_fts, rowid, name, username) VALUES ('delete', old.id, old.name, old.username); END""",
    """CREATE TRIGGER contacts_fts_au AFTER UPDATE OF name, username ON contacts BEGIN
         INSERT INTO contacts_fts(contacts_fts, rowid, name, username) VALUES ('delete', old.id, old.name, old.username);
         INSERT INTO contacts_fts(rowid, name, username) VALUES (new.id, new.name, new.username); END""",
]


def upgrade() -> None:
    op.create_index("ix_conversations_activity", "conversations", ["last_activity_at"])
    if op.get_bind().dialect.name == "sqlite":
        for statement in SQLITE_FTS:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in ("contacts_fts_au", "contacts_fts_ad", "contacts_fts_ai"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS contacts_fts")
    op.drop_index("ix_conversations_activity", table_name="conversations")
