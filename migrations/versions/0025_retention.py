"""Retention per account: delete conversations (or only their media) older than N days

Revision ID: 0025_retention
Revises: 0024_two_factor
"""
import sqlalchemy as sa
from alembic import op

revision = "0025_retention"
down_revision = "0024_two_factor"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("channels") as batch:
        batch.add_column(sa.Column("retention_days", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("retention_scope", sa.String(length=16), server_default="conversations",
                                   nullable=False))
        batch.add_column(sa.Column("retention_ran_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("retention_report", sa.Text(), nullable=True))
        batch.create_check_constraint(op.f("ck_channels_retention_scope"), "retention_scope IN ('conversations', 'media')")


def downgrade() -> None:
    with op.batch_alter_table("channels") as batch:
        batch.drop_constraint(op.f("ck_channels_retention_scope"), type_="check")
        for column in ("retention_report", "retention_ran_at", "retention_scope", "retention_days"):
            batch.drop_column(column)
