"""Knowledge retrieval that reads meaning: each entry's example questions, its language and its
stored embedding vectors, and the "Unanswered questions" an agent handed off or a teammate corrected

Entries saved before this revision get their language and vectors on the next index build.

Revision ID: 0011_knowledge_retrieval
Revises: 0010_status_checks
"""
import sqlalchemy as sa
from alembic import op

revision = "0011_knowledge_retrieval"
down_revision = "0010_status_checks"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("knowledge_entries") as batch:
        batch.add_column(sa.Column("examples", sa.Text(), nullable=False, server_default=sa.text("''")))
        batch.add_column(sa.Column("language", sa.String(length=8), nullable=True))
        batch.add_column(sa.Column("vectors", sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column("vectors_model", sa.String(length=64), nullable=True))
    op.create_table(
        "knowledge_gaps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=True),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("ai_reply", sa.Text(), nullable=True),
        sa.Column("teammate_reply", sa.Text(), nullable=True),
        sa.Column("best_entry_id", sa.Integer(), nullable=True),
        sa.Column("best_title", sa.String(length=300), nullable=True),
        sa.Column("best_score", sa.Float(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.Column("closed_entry_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("kind IN ('unanswered', 'corrected')", name=op.f("ck_knowledge_gaps_kind")),
        sa.ForeignKeyConstraint(["agent_id"], ["agents.id"], name=op.f("fk_knowledge_gaps_agent_id_agents"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversations.id"],
                                name=op.f("fk_knowledge_gaps_conversation_id_conversations"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["message_id"], ["messages.id"], name=op.f("fk_knowledge_gaps_message_id_messages"),
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["best_entry_id"], ["knowledge_entries.id"],
                                name=op.f("fk_knowledge_gaps_best_entry_id_knowledge_entries"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["closed_entry_id"], ["knowledge_entries.id"],
                                name=op.f("fk_knowledge_gaps_closed_entry_id_knowledge_entries"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_knowledge_gaps")),
        sa.UniqueConstraint("message_id", name=op.f("uq_knowledge_gaps_message_id")),
    )
    op.create_index(op.f("ix_knowledge_gaps_agent_id"), "knowledge_gaps", ["agent_id"])
    op.create_index(op.f("ix_knowledge_gaps_created_at"), "knowledge_gaps", ["created_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_knowledge_gaps_created_at"), table_name="knowledge_gaps")
    op.drop_index(op.f("ix_knowledge_gaps_agent_id"), table_name="knowledge_gaps")
    op.drop_table("knowledge_gaps")
    with op.batch_alter_table("knowledge_entries") as batch:
        batch.drop_column("vectors_model")
        batch.drop_column("vectors")
        batch.drop_column("language")
        batch.drop_column("examples")
