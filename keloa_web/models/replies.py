"""What teammates keep for the inbox: saved replies ("/" in the composer) and saved views (filters)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from keloa_web.db import Base, utcnow


class SavedReply(Base):
    __tablename__ = "saved_replies"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The short name typed after "/" ("shipping"): lowercase letters, digits and dashes.
    name: Mapped[str] = mapped_column(String(40), index=True)
    # The text inserted, with {{first_name}}, {{agent_name}} and {{account}} filled at insert.
    text: Mapped[str] = mapped_column(Text)
    # None: the whole team's (admins manage them); else one teammate's own.
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # One optional file sent with it (a copy goes out with each reply): under MEDIA_DIR, checked
    # like any upload (keloa_web/inbox/uploads.py) when it was attached.
    file_path: Mapped[str | None] = mapped_column(String(300))
    file_type: Mapped[str | None] = mapped_column(String(16))  # an AttachmentType
    file_content_type: Mapped[str | None] = mapped_column(String(100))
    file_size: Mapped[int | None] = mapped_column(BigInteger)
    file_name: Mapped[str | None] = mapped_column(String(120))  # as chosen, for the teammate to recognise
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    @property
    def file_label(self) -> str:
        return f"{self.file_name or self.file_type} ({self.file_type}, {max(1, (self.file_size or 0) // 1000):,} KB)"


class SavedView(Base):
    """A named set of inbox filters, in the sidebar with its count."""

    __tablename__ = "saved_views"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60))
    # The inbox's query string for it (keloa_web/inbox/queries.Filters.as_args), e.g. "status=open&label=3".
    query: Mapped[str] = mapped_column(String(500))
    # None: the whole team's (admins add them); else one teammate's own.
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
