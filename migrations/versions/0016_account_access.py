"""Per-account access: an account may be restricted to chosen teammates (admins see every account)

Revision ID: 0016_account_access
Revises: 0015_saved_views
"""
import sqlalchemy as sa
from alembic import op

revision = "0016_account_access"
down_revision = "0015_saved_views"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("channels") as batch:
        batch.add_column(sa.Column("restricted", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_table(
        "channel_members",
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["channel_id"], ["channels.id"], name=op.f("fk_channel_members_channel_id_channels"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_channel_members_user_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("channel_id", "user_id", name=op.f("pk_channel_members")),
    )
    op.create_index(op.f("ix_channel_members_user_id"), "channel_members", ["user_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_channel_members_user_id"), table_name="channel_members")
    op.drop_table("channel_members")
    with op.batch_alter_table("channels") as batch:
        batch.drop_column("restricted")
