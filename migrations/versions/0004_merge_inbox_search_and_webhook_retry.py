"""merge heads: inbox search and webhook retry landed side by side

Revision ID: 0004_merge
Revises: 0003_inbox_search, 0003_webhook_retry
Create Date: 2026-11-25 15:50:00
"""


revision = '0004_merge'
down_revision = ('0003_inbox_search', '0003_webhook_retry')
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
