"""What both search implementations share: LIKE patterns and the lookups that need no index."""
from __future__ import annotations

from sqlalchemy import or_, select

from keloa_web.models import Contact, Message


def like(q: str) -> str:
    """A LIKE pattern for text containing `q`, its wildcards taken literally."""
    return "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def contacts_like(q: str):
    """Ids of contacts whose name or @username contains `q`, case-insensitive."""
    pattern = like(q)
    return select(Contact.id).where(or_(Contact.name.ilike(pattern, escape="\\"),
                                        Contact.username.ilike(pattern, escape="\\")))


def message_like(q: str):
    """Condition on Message: its text contains `q`, case-insensitive."""
    return Message.text.ilike(like(q), escape="\\")
