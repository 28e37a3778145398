"""Raw webhook deliveries, stored before anything else happens to them."""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import DateTime, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from keloa_web.db import Base, utcnow
from keloa_web.models.checks import one_of


class EventStatus(StrEnum):
    PENDING = "pending"
    DONE = "done"
    IGNORED = "ignored"  # recorded, nothing in it for Keloa
    FAILED = "failed"


class WebhookEvent(Base):
    __tablename__ = "webhook_events"
    __table_args__ = (Index("ix_webhook_events_status_id", "status", "id"), one_of("status", EventStatus))

    id: Mapped[int] = mapped_column(primary_key=True)
    received_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    object_type: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default=EventStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    processed_at: Mapped[datetime | None] = mapped_column(DateTime)
    # After a failed apply: not before this time (back-off); None means "as soon as possible".
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime)
