"""What Keloa learns from Meta about a channel and a customer: whether the first Conversations API
call was made (creator accounts get no webhooks before it), how a backfill went per conversation,
when a customer's message came from a Click-to-Direct ad (its window lasts up to 7 days), whether
an AI agent says it is automated in its first reply (on by default), Meta's data deletion
requests (their public status page), a channel's ice breakers as last saved at Meta, since when another app owns a conversation
(Conversation Routing: its events come as standby), and the
profile signals Meta returns beside a name (followers, verified, who follows whom)

Revision ID: 0009_meta_signals
Revises: 0008_user_sessions
"""
import sqlalchemy as sa
from alembic import op

revision = "0009_meta_signals"
down_revision = "0008_user_sessions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "data_deletions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("confirmation_code", sa.String(length=32), nullable=False),
        sa.Column("requested_at", sa.DateTime(), nullable=False),
        sa.Column("completed_at", sa.DateTime(), nullable=True),
        sa.Column("meta_user_id", sa.String(length=64), nullable=True),
        sa.Column("channels", sa.Integer(), nullable=False),
        sa.Column("contacts", sa.Integer(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_deletions")),
        sa.UniqueConstraint("confirmation_code", name=op.f("uq_data_deletions_confirmation_code")),
    )
    with op.batch_alter_table("channels") as batch:
        batch.add_column(sa.Column("conversations_api_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("conversations_api_error", sa.Text(), nullable=True))
        batch.add_column(sa.Column("backfill_skipped", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("backfill_note", sa.Text(), nullable=True))
        batch.add_column(sa.Column("ice_breakers", sa.JSON(), nullable=True))
    with op.batch_alter_table("conversations") as batch:
        batch.add_column(sa.Column("ad_message_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("standby_since", sa.DateTime(), nullable=True))
    with op.batch_alter_table("agents") as batch:
        batch.add_column(sa.Column("disclose", sa.Boolean(), nullable=False, server_default=sa.true()))
        batch.add_column(sa.Column("disclosure_text", sa.Text(), nullable=True))
    with op.batch_alter_table("contacts") as batch:
        batch.add_column(sa.Column("follower_count", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("is_verified_user", sa.Boolean(), nullable=True))
        batch.add_column(sa.Column("is_user_follow_business", sa.Boolean(), nullable=True))
        batch.add_column(sa.Column("is_business_follow_user", sa.Boolean(), nullable=True))


def downgrade() -> None:
    op.drop_table("data_deletions")
    with op.batch_alter_table("agents") as batch:
        batch.drop_column("disclosure_text")
        batch.drop_column("disclose")
    with op.batch_alter_table("conversations") as batch:
        batch.drop_column("standby_since")
        batch.drop_column("ad_message_at")
    with op.batch_alter_table("contacts") as batch:
        for name in ("is_business_follow_user", "is_user_follow_business", "is_verified_user", "follower_count"):
            batch.drop_column(name)
    with op.batch_alter_table("channels") as batch:
        for name in ("ice_breakers", "backfill_note", "backfill_skipped", "conversations_api_error", "conversations_api_at"):
            batch.drop_column(name)
