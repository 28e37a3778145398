"""The window-phase filters and saved views at scale: an index on (status, the customer's last
message), so "Human agent only, closes within 24 h" reads a range instead of every open conversation

Revision ID: 0023_window_phase_index
Revises: 0022_unreplied_by_account
"""
from alembic import op

revision = "0023_window_phase_index"
down_revision = "0022_unreplied_by_account"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_conversations_window", "conversations", ["status", "last_customer_message_at"])


def downgrade() -> None:
    op.drop_index("ix_conversations_window", table_name="conversations")
