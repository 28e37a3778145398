"""Reports: conversation events (resolved, reopened, AI hand-offs) and indexes for a period's counts

Revision ID: 0026_reports
Revises: 0025_retention
"""
import sqlalchemy as sa
from alembic import op

revision = "0026_reports"
down_revision = "0025_retention"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "conversation_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.CheckConstraint("kind IN ('resolved', 'reopened', 'handed_off')", name=op.f("ck_conversation_events_kind")),
        sa.ForeignKeyConstraint(["channel_id"], ["channels.id"], name=op.f("fk_conversation_events_channel_id_channels"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversations.id"],
                                name=op.f("fk_conversation_events_conversation_id_conversations"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_conversation_events_user_id_users"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversation_events")),
    )
    op.create_index(op.f("ix_conversation_events_conversation_id"), "conversation_events", ["conversation_id"])
    op.create_index("ix_conversation_events_period", "conversation_events", ["kind", "at"])
    op.create_index("ix_messages_period", "messages",
                    ["sent_at", "direction", "author_type", "status", "author_user_id", "channel_id"])
    op.create_index("ix_conversations_created", "conversations", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_conversations_created", table_name="conversations")
    op.drop_index("ix_messages_period", table_name="messages")
    op.drop_index("ix_conversation_events_period", table_name="conversation_events")
    op.drop_index(op.f("ix_conversation_events_conversation_id"), table_name="conversation_events")
    op.drop_table("conversation_events")
