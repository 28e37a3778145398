"""Data deletion requests from Meta's callback, and what each deleted (its public status page)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from keloa_web.db import Base, utcnow


class DataDeletion(Base):
    __tablename__ = "data_deletions"

    id: Mapped[int] = mapped_column(primary_key=True)
    confirmation_code: Mapped[str] = mapped_column(String(32), unique=True)
    requested_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Meta's app-scoped id of the person, kept only until the deletion is done.
    meta_user_id: Mapped[str | None] = mapped_column(String(64))
    channels: Mapped[int] = mapped_column(Integer, default=0)  # channels whose Meta sign-in was theirs
    contacts: Mapped[int] = mapped_column(Integer, default=0)  # conversations of theirs as a customer
    summary: Mapped[str | None] = mapped_column(Text)
