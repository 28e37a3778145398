"""What the team knows about a customer beyond Instagram's profile: custom attributes (fields an
admin defines, values per contact) and notes about the contact (keloa_web/contacts/)."""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from keloa_web.db import Base, utcnow
from keloa_web.models.checks import one_of


class FieldKind(StrEnum):
    TEXT = "text"
    NUMBER = "number"
    DATE = "date"
    LIST = "list"  # one of the field's options


class ContactField(Base):
    __tablename__ = "contact_fields"
    __table_args__ = (one_of("kind", FieldKind),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40), unique=True)
    kind: Mapped[str] = mapped_column(String(8), default=FieldKind.TEXT)
    options: Mapped[list | None] = mapped_column(JSON)  # a list field's choices, in order
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class ContactValue(Base):
    """One contact's value of one field, as text (a number or an ISO date for those kinds)."""

    __tablename__ = "contact_values"

    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True)
    field_id: Mapped[int] = mapped_column(ForeignKey("contact_fields.id", ondelete="CASCADE"), primary_key=True)
    value: Mapped[str] = mapped_column(String(500))


class ContactNote(Base):
    __tablename__ = "contact_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    author_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
