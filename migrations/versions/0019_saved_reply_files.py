"""A saved reply may carry one file, sent with it

Revision ID: 0019_saved_reply_files
Revises: 0018_contact_details
"""
import sqlalchemy as sa
from alembic import op

revision = "0019_saved_reply_files"
down_revision = "0018_contact_details"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("saved_replies") as batch:
        batch.add_column(sa.Column("file_path", sa.String(length=300), nullable=True))
        batch.add_column(sa.Column("file_type", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("file_content_type", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("file_size", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("file_name", sa.String(length=120), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("saved_replies") as batch:
        for column in ("file_name", "file_size", "file_content_type", "file_type", "file_path"):
            batch.drop_column(column)
