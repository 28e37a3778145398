"""CHECK constraints that keep a string column to the values of its StrEnum."""
from __future__ import annotations

from enum import StrEnum

from sqlalchemy import CheckConstraint


def one_of(column: str, values: type[StrEnum]) -> CheckConstraint:
    """`column IN (...)`, named ck_<table>_<column> (NULL passes: whether it may be NULL is the
    column's own rule). The enum travels in `info` for the tests that hold the database to it."""
    listed = ", ".join(f"'{value}'" for value in values)
    return CheckConstraint(f"{column} IN ({listed})", name=column, info={"enum": values})
