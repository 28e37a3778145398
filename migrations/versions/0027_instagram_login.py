"""Instagram Login: how each account is connected, and its token's life (refreshed before it expires)

Revision ID: 0027_instagram_login
Revises: 0026_reports
"""
import sqlalchemy as sa
from alembic import op

revision = "0027_instagram_login"
down_revision = "0026_reports"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("channels") as batch:
        batch.add_column(sa.Column("login", sa.String(length=16), server_default="facebook", nullable=False))
        batch.add_column(sa.Column("token_scopes", sa.Text(), nullable=True))
        batch.add_column(sa.Column("token_issued_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("token_expires_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("token_refresh_failures", sa.Integer(), server_default="0", nullable=False))
        batch.add_column(sa.Column("token_refresh_error", sa.Text(), nullable=True))
        batch.create_check_constraint(op.f("ck_channels_login"), "login IN ('facebook', 'instagram')")


def downgrade() -> None:
    with op.batch_alter_table("channels") as batch:
        batch.drop_constraint(op.f("ck_channels_login"), type_="check")
        for column in ("token_refresh_error", "token_refresh_failures", "token_expires_at", "token_issued_at",
                       "token_scopes", "login"):
            batch.drop_column(column)
