"""Labels: coloured tags admins define and anyone puts on conversations."""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, DateTime, ForeignKey, Index, String, Table
from sqlalchemy.orm import Mapped, mapped_column

from keloa_web.db import Base, utcnow
from keloa_web.models.checks import one_of


class LabelColor(StrEnum):
    """A label's colour: one of a fixed set (a CSS class each), never a colour typed in."""

    GREY = "grey"
    RED = "red"
    ORANGE = "orange"
    YELLOW = "yellow"
    GREEN = "green"
    TEAL = "teal"
    BLUE = "blue"
    PURPLE = "purple"
    PINK = "pink"


class Label(Base):
    __tablename__ = "labels"
    __table_args__ = (one_of("color", LabelColor),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40), unique=True)
    color: Mapped[str] = mapped_column(String(16), default=LabelColor.GREY)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


# Which labels a conversation carries. The label-first index serves the inbox's label filter.
conversation_labels = Table(
    "conversation_labels", Base.metadata,
    Column("conversation_id", ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True),
    Column("label_id", ForeignKey("labels.id", ondelete="CASCADE"), primary_key=True),
    Index("ix_conversation_labels_label", "label_id", "conversation_id"),
)
