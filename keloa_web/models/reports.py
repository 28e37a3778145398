"""What the Reports page counts that no other table keeps: when conversations were resolved or
reopened, and the AI's hand-offs with their reason (keloa_web/reports/)."""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import DateTime, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from keloa_web.db import Base, utcnow
from keloa_web.models.checks import one_of


class EventKind(StrEnum):
    RESOLVED = "resolved"
    REOPENED = "reopened"
    HANDED_OFF = "handed_off"  # the AI gave the conversation to a person; `detail` says why


class ConversationEvent(Base):
    __tablename__ = "conversation_events"
    __table_args__ = (one_of("kind", EventKind), Index("ix_conversation_events_period", "kind", "at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), index=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    detail: Mapped[str | None] = mapped_column(Text)
