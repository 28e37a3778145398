"""Notifications: what each teammate is told about (in the browser, and by email when away), and
their preferences

Revision ID: 0020_notifications
Revises: 0019_saved_reply_files
"""
import sqlalchemy as sa
from alembic import op

revision = "0020_notifications"
down_revision = "0019_saved_reply_files"
branch_labels = None
depends_on = None

KINDS = ("new_conversation", "assigned_message", "mention", "handoff", "failed_reply")


def upgrade() -> None:
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.String(length=300), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("seen_at", sa.DateTime(), nullable=True),
        sa.Column("emailed_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint("kind IN (" + ", ".join(f"'{k}'" for k in KINDS) + ")", name=op.f("ck_notifications_kind")),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversations.id"],
                                name=op.f("fk_notifications_conversation_id_conversations"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_notifications_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
    )
    op.create_index("ix_notifications_user", "notifications", ["user_id", "id"])
    op.create_index("ix_notifications_unseen", "notifications", ["user_id", "seen_at"])
    op.create_index("ix_notifications_unemailed", "notifications", ["emailed_at", "created_at"])
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("notify_prefs", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("last_digest_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("last_digest_at")
        batch.drop_column("notify_prefs")
    op.drop_index("ix_notifications_unemailed", table_name="notifications")
    op.drop_index("ix_notifications_unseen", table_name="notifications")
    op.drop_index("ix_notifications_user", table_name="notifications")
    op.drop_table("notifications")
