"""What the contact panel shows about the customer of one conversation.

Instagram gives a person a different id (IGSID) on each business account, so the same person
writing to two connected accounts is two contacts; their other conversations are found by the
same @username, and the panel says so.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from keloa_web import access
from keloa_web.models import (
    Channel, Contact, ContactField, ContactNote, ContactValue, Conversation, Direction, FieldKind, Message, User,
)

USERNAME = re.compile(r"^[A-Za-z0-9._]{1,30}$")  # what Instagram allows in a username
NOTE_MAX = 2000
VALUE_MAX = 500


@dataclass
class Panel:
    conv: Conversation
    contact: Contact
    channel: Channel | None
    first_at: datetime | None
    last_at: datetime | None
    others: list[tuple[Conversation, Channel]] = field(default_factory=list)
    fields: list[ContactField] = field(default_factory=list)
    values: dict[int, str] = field(default_factory=dict)
    notes: list[tuple[ContactNote, str]] = field(default_factory=list)

    @property
    def profile_url(self) -> str | None:
        name = self.contact.username or ""
        return f"https://www.instagram.com/{name}/" if USERNAME.match(name) else None


def load(s: Session, conv: Conversation, user_id: int) -> Panel:
    contact = conv.contact
    first_at = s.scalar(select(func.min(Message.sent_at)).where(Message.conversation_id == conv.id,
                                                                  Message.direction == Direction.IN))
    panel = Panel(conv, contact, s.get(Channel, conv.channel_id), first_at or contact.created_at,
                  conv.last_customer_message_at)
    if contact.username:
        stmt = (select(Conversation, Channel).join(Contact, Conversation.contact_id == Contact.id)
                .join(Channel, Channel.id == Conversation.channel_id)
                .where(Contact.username == contact.username, Contact.id != contact.id)
                .order_by(Conversation.last_activity_at.desc()).limit(10))
        if (allowed := access.conversation_condition(s, user_id)) is not None:
            stmt = stmt.where(allowed)
        panel.others = [(c, ch) for c, ch in s.execute(stmt).all()]
    panel.fields = fields(s)
    panel.values = dict(s.execute(select(ContactValue.field_id, ContactValue.value)
                                  .where(ContactValue.contact_id == contact.id)).all())
    rows = s.execute(select(ContactNote, User.name).outerjoin(User, User.id == ContactNote.author_user_id)
                     .where(ContactNote.contact_id == contact.id)
                     .order_by(ContactNote.created_at.desc(), ContactNote.id.desc()).limit(50)).all()
    panel.notes = [(note, name or "A former teammate") for note, name in rows]
    return panel


def fields(s: Session) -> list[ContactField]:
    return list(s.scalars(select(ContactField).order_by(ContactField.position, ContactField.id)))


class FieldValueError(ValueError):
    """A value that does not fit its field: the message says what would."""


def clean(f: ContactField, raw: str) -> str | None:
    """The value to store for `raw` typed into field `f` (None: clear it); FieldValueError if it does not fit."""
    raw = " ".join((raw or "").split()) if f.kind != FieldKind.TEXT else (raw or "").strip()
    if not raw:
        return None
    if len(raw) > VALUE_MAX:
        raise FieldValueError(f"{f.name}: up to {VALUE_MAX} characters.")
    if f.kind == FieldKind.NUMBER:
        try:
            number = float(raw.replace(",", "."))
        except ValueError:
            raise FieldValueError(f"{f.name} is a number, such as 42 or 3.5.") from None
        if number != number or number in (float("inf"), float("-inf")):
            raise FieldValueError(f"{f.name} is a number, such as 42 or 3.5.")
        return f"{number:g}" if abs(number) < 1e15 else raw
    if f.kind == FieldKind.DATE:
        try:
            return date.fromisoformat(raw).isoformat()
        except ValueError:
            raise FieldValueError(f"{f.name} is a date: pick one, or type it as 2026-12-31.") from None
    if f.kind == FieldKind.LIST:
        if raw not in (f.options or []):
            raise FieldValueError(f"{f.name}: pick one of its choices (an admin may have changed them meanwhile).")
    return raw
