"""The contact panel: custom attributes (fields admins define, a value per contact) and notes
about a contact

Revision ID: 0018_contact_details
Revises: 0017_assignment_rules
"""
import sqlalchemy as sa
from alembic import op

revision = "0018_contact_details"
down_revision = "0017_assignment_rules"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "contact_fields",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("options", sa.JSON(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("kind IN ('text', 'number', 'date', 'list')", name=op.f("ck_contact_fields_kind")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_fields")),
        sa.UniqueConstraint("name", name=op.f("uq_contact_fields_name")),
    )
    op.create_table(
        "contact_values",
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("field_id", sa.Integer(), nullable=False),
        sa.Column("value", sa.String(length=500), nullable=False),
        sa.ForeignKeyConstraint(["contact_id"], ["contacts.id"], name=op.f("fk_contact_values_contact_id_contacts"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["field_id"], ["contact_fields.id"], name=op.f("fk_contact_values_field_id_contact_fields"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("contact_id", "field_id", name=op.f("pk_contact_values")),
    )
    op.create_table(
        "contact_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("author_user_id", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["contact_id"], ["contacts.id"], name=op.f("fk_contact_notes_contact_id_contacts"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["author_user_id"], ["users.id"], name=op.f("fk_contact_notes_author_user_id_users"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_notes")),
    )
    op.create_index(op.f("ix_contact_notes_contact_id"), "contact_notes", ["contact_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_contact_notes_contact_id"), table_name="contact_notes")
    op.drop_table("contact_notes")
    op.drop_table("contact_values")
    op.drop_table("contact_fields")
