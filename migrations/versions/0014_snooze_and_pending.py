"""Conversations can be pending (waiting on the customer) or snoozed (until a time, or until the
customer writes): two more status values, and when a snooze ends

Revision ID: 0014_snooze_and_pending
Revises: 0013_labels
"""
import sqlalchemy as sa
from alembic import op

revision = "0014_snooze_and_pending"
down_revision = "0013_labels"
branch_labels = None
depends_on = None

BEFORE = ("open", "resolved")
AFTER = ("open", "pending", "snoozed", "resolved")


def _check(values: tuple[str, ...]) -> str:
    return "status IN (" + ", ".join(f"'{v}'" for v in values) + ")"


def upgrade() -> None:
    with op.batch_alter_table("conversations") as batch:
        batch.add_column(sa.Column("snoozed_until", sa.DateTime(), nullable=True))
        batch.drop_constraint(op.f("ck_conversations_status"), type_="check")
        batch.create_check_constraint(op.f("ck_conversations_status"), _check(AFTER))


def downgrade() -> None:
    op.execute("UPDATE conversations SET status = 'open' WHERE status IN ('pending', 'snoozed')")
    with op.batch_alter_table("conversations") as batch:
        batch.drop_constraint(op.f("ck_conversations_status"), type_="check")
        batch.create_check_constraint(op.f("ck_conversations_status"), _check(BEFORE))
        batch.drop_column("snoozed_until")
