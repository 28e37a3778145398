"""Row ids from URLs, query strings and forms: plain ASCII digits that fit a 64-bit signed column.

`int("²")` raises although `"²".isdigit()` is true, and an id above 2^63 makes SQLite and PostgreSQL
raise on the query: both were 500s. Everything that turns outside text into an id goes through here.
"""
from __future__ import annotations

from werkzeug.exceptions import NotFound
from werkzeug.routing import IntegerConverter

MAX_ID = 2**63 - 1


def parse_id(raw: object) -> int | None:
    """The id `raw` names, or None if it is not one (empty, not ASCII digits, zero, too large)."""
    if not isinstance(raw, str) or not raw or len(raw) > 19 or not raw.isascii() or not raw.isdigit():
        return None
    value = int(raw)
    return value if 0 < value <= MAX_ID else None


def parse_count(raw: object, default: int = 0) -> int:
    """A non-negative number that fits a 64-bit column (cursors, offsets), else `default`."""
    if not isinstance(raw, str) or not raw.isascii() or not raw.isdigit() or len(raw) > 19:
        return default
    value = int(raw)
    return value if value <= MAX_ID else default


class IdConverter(IntegerConverter):
    """`<int:…>` in every route: ASCII digits only, at most 2^63 - 1, else "Not found".

    NotFound rather than werkzeug's ValidationError: that one only skips the rule, and the same URL
    with another method then answers 405 Method Not Allowed, which misleads."""

    regex = r"[0-9]+"

    def to_python(self, value: str) -> int:
        number = int(value)
        if number > MAX_ID:
            raise NotFound()
        return number
