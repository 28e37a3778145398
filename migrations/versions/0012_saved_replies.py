"""Saved replies: the team's and each teammate's own, inserted in the composer with "/"

Revision ID: 0012_saved_replies
Revises: 0011_knowledge_retrieval
"""
import sqlalchemy as sa
from alembic import op

revision = "0012_saved_replies"
down_revision = "0011_knowledge_retrieval"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "saved_replies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["owner_id"], ["users.id"], name=op.f("fk_saved_replies_owner_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saved_replies")),
    )
    op.create_index(op.f("ix_saved_replies_name"), "saved_replies", ["name"])
    op.create_index(op.f("ix_saved_replies_owner_id"), "saved_replies", ["owner_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_saved_replies_owner_id"), table_name="saved_replies")
    op.drop_index(op.f("ix_saved_replies_name"), table_name="saved_replies")
    op.drop_table("saved_replies")
