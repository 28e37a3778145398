"""What a teammate is told about: a new conversation, a message in one assigned to them, a
mention, a hand-off from the AI, a reply that failed (keloa_web/notifications/)."""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from keloa_web.db import Base, utcnow
from keloa_web.models.checks import one_of


class NotificationKind(StrEnum):
    NEW_CONVERSATION = "new_conversation"
    ASSIGNED_MESSAGE = "assigned_message"  # a customer wrote in a conversation assigned to me
    MENTION = "mention"
    HANDOFF = "handoff"  # the AI handed a conversation to a person
    FAILED_REPLY = "failed_reply"


class Notification(Base):
    __tablename__ = "notifications"
    __table_args__ = (
        one_of("kind", NotificationKind),
        Index("ix_notifications_user", "user_id", "id"),  # a teammate's newest, and the stream's "since"
        Index("ix_notifications_unseen", "user_id", "seen_at"),  # the count in the title
        Index("ix_notifications_unemailed", "emailed_at", "created_at"),  # the email digest's sweep
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(24))
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    # Written for the teammate, shown as text (a customer's words are never markup here).
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    seen_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Emailed in a digest (or judged not to need one: seen in time, email off): never emailed again.
    emailed_at: Mapped[datetime | None] = mapped_column(DateTime)


class OutgoingEmail(Base):
    """An email waiting for (or past) the SMTP server. Its body may hold a sign-in link (an
    invitation, a password reset), so it is kept encrypted (keloa_web/crypto.py) and the job that
    sends it takes only this row's id (keloa_web/mail.py)."""

    __tablename__ = "outgoing_emails"

    id: Mapped[int] = mapped_column(primary_key=True)
    to: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(200))
    body_enc: Mapped[str] = mapped_column(Text)  # {"text": ..., "html": ...} as JSON, encrypted
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
