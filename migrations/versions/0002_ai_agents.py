"""AI agents: which inbound message an AI outcome answers, quiet period, knowledge edit times

Revision ID: 0002_ai_agents
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa

revision = "0002_ai_agents"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch_op:
        # One AI outcome (reply or note) per inbound message: the idempotence guard of the ai job.
        batch_op.add_column(sa.Column("answers_message_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_messages_answers_message_id_messages"), "messages", ["answers_message_id"], ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_unique_constraint(batch_op.f("uq_messages_answers_message_id"), ["answers_message_id"])
    with op.batch_alter_table("agents") as batch_op:
        batch_op.add_column(sa.Column("quiet_minutes", sa.Integer(), nullable=False, server_default="30"))
    with op.batch_alter_table("knowledge_entries") as batch_op:
        batch_op.add_column(sa.Column("updated_at", sa.DateTime(), nullable=True))
    op.execute("UPDATE knowledge_entries SET updated_at = created_at")


def downgrade() -> None:
    with op.batch_alter_table("knowledge_entries") as batch_op:
        batch_op.drop_column("updated_at")
    with op.batch_alter_table("agents") as batch_op:
        batch_op.drop_column("quiet_minutes")
    with op.batch_alter_table("messages") as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_messages_answers_message_id"), type_="unique")
        batch_op.drop_constraint(batch_op.f("fk_messages_answers_message_id_messages"), type_="foreignkey")
        batch_op.drop_column("answers_message_id")
