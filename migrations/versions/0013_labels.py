"""Labels on conversations: the set admins define (a name and one of a fixed set of colours) and
which conversations carry each

Revision ID: 0013_labels
Revises: 0012_saved_replies
"""
import sqlalchemy as sa
from alembic import op

revision = "0013_labels"
down_revision = "0012_saved_replies"
branch_labels = None
depends_on = None

COLORS = ("grey", "red", "orange", "yellow", "green", "teal", "blue", "purple", "pink")


def upgrade() -> None:
    op.create_table(
        "labels",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("color", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("color IN (" + ", ".join(f"'{c}'" for c in COLORS) + ")", name=op.f("ck_labels_color")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_labels")),
        sa.UniqueConstraint("name", name=op.f("uq_labels_name")),
    )
    op.create_table(
        "conversation_labels",
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("label_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversations.id"],
                                name=op.f("fk_conversation_labels_conversation_id_conversations"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["label_id"], ["labels.id"], name=op.f("fk_conversation_labels_label_id_labels"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("conversation_id", "label_id", name=op.f("pk_conversation_labels")),
    )
    op.create_index("ix_conversation_labels_label", "conversation_labels", ["label_id", "conversation_id"])


def downgrade() -> None:
    op.drop_index("ix_conversation_labels_label", table_name="conversation_labels")
    op.drop_table("conversation_labels")
    op.drop_table("labels")
