"""The first-reply flag's index per account: (channel_id, created_at) where nobody has replied, so
the planner takes it over an account's activity index (measured at 50,000 conversations)

Revision ID: 0022_unreplied_by_account
Revises: 0021_outgoing_emails
"""
import sqlalchemy as sa
from alembic import op

revision = "0022_unreplied_by_account"
down_revision = "0021_outgoing_emails"
branch_labels = None
depends_on = None

WHERE = "first_reply_at IS NULL"


def upgrade() -> None:
    op.drop_index("ix_conversations_unreplied", table_name="conversations")
    op.create_index("ix_conversations_unreplied", "conversations", ["channel_id", "created_at"],
                    sqlite_where=sa.text(WHERE), postgresql_where=sa.text(WHERE))


def downgrade() -> None:
    op.drop_index("ix_conversations_unreplied", table_name="conversations")
    op.create_index("ix_conversations_unreplied", "conversations", ["created_at"],
                    sqlite_where=sa.text(WHERE), postgresql_where=sa.text(WHERE))
