"""Assignment rules: round-robin per account among teammates who are online, and the flag for a
conversation waiting too long for a first reply (when it was first answered, filled from history)

Revision ID: 0017_assignment_rules
Revises: 0016_account_access
"""
import sqlalchemy as sa
from alembic import op

revision = "0017_assignment_rules"
down_revision = "0016_account_access"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("channels") as batch:
        batch.add_column(sa.Column("assignment", sa.String(length=16), nullable=False, server_default="manual"))
        batch.add_column(sa.Column("last_assigned_user_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("first_reply_minutes", sa.Integer(), nullable=True))
        batch.create_foreign_key(op.f("fk_channels_last_assigned_user_id_users"), "users",
                                 ["last_assigned_user_id"], ["id"], ondelete="SET NULL")
        batch.create_check_constraint(op.f("ck_channels_assignment"), "assignment IN ('manual', 'round_robin')")
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("availability", sa.String(length=8), nullable=False, server_default="online"))
        batch.create_check_constraint(op.f("ck_users_availability"), "availability IN ('online', 'away')")
    with op.batch_alter_table("conversations") as batch:
        batch.add_column(sa.Column("first_reply_at", sa.DateTime(), nullable=True))
    op.execute("UPDATE conversations SET first_reply_at = (SELECT min(m.sent_at) FROM messages m "
               "WHERE m.conversation_id = conversations.id AND m.direction = 'out')")
    op.create_index("ix_conversations_unreplied", "conversations", ["created_at"],
                    sqlite_where=sa.text("first_reply_at IS NULL"), postgresql_where=sa.text("first_reply_at IS NULL"))


def downgrade() -> None:
    op.drop_index("ix_conversations_unreplied", table_name="conversations")
    with op.batch_alter_table("conversations") as batch:
        batch.drop_column("first_reply_at")
    with op.batch_alter_table("users") as batch:
        batch.drop_constraint(op.f("ck_users_availability"), type_="check")
        batch.drop_column("availability")
    with op.batch_alter_table("channels") as batch:
        batch.drop_constraint(op.f("ck_channels_assignment"), type_="check")
        batch.drop_constraint(op.f("fk_channels_last_assigned_user_id_users"), type_="foreignkey")
        batch.drop_column("first_reply_minutes")
        batch.drop_column("last_assigned_user_id")
        batch.drop_column("assignment")
