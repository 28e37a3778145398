"""Replies waiting to go out, per account: a partial index for the send drains

Revision ID: 0006_send_drains
Revises: 0005_search_at_scale
"""
import sqlalchemy as sa
from alembic import op

revision = "0006_send_drains"
down_revision = "0005_search_at_scale"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_messages_queued", "messages", ["channel_id", "id"],
                    sqlite_where=sa.text("status = 'queued'"), postgresql_where=sa.text("status = 'queued'"))


def downgrade() -> None:
    op.drop_index("ix_messages_queued", table_name="messages")
