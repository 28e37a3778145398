"""AI agents and their knowledge entries."""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, DateTime, Float, ForeignKey, Integer, String, Text, true
from sqlalchemy.orm import Mapped, mapped_column

from keloa_web.db import Base, utcnow
from keloa_web.models.checks import one_of

DEFAULT_DISCLOSURE = "Hi! I'm {agent}, the automated assistant of {account}. A person from the team can take over anytime."


class Backend(StrEnum):
    """Where an agent's answers come from (keloa_web/agents/backends.py)."""

    KNOWLEDGE_BASE = "knowledge_base"
    OPENAI = "openai"  # any OpenAI-compatible API


class Agent(Base):
    __tablename__ = "agents"
    __table_args__ = (one_of("backend", Backend),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    instructions: Mapped[str] = mapped_column(Text, default="")
    handoff_keywords: Mapped[str] = mapped_column(Text, default="human, person, agent, someone real")
    backend: Mapped[str] = mapped_column(String(32), default=Backend.KNOWLEDGE_BASE)
    base_url: Mapped[str | None] = mapped_column(String(500))
    model: Mapped[str | None] = mapped_column(String(200))
    api_key_enc: Mapped[str | None] = mapped_column(Text)
    temperature: Mapped[float] = mapped_column(Float, default=0.3)
    timeout_seconds: Mapped[int] = mapped_column(Integer, default=20)
    # Normalised retrieval confidence (0..1) the best entry needs; see keloa_web/agents/retrieval.py.
    min_score: Mapped[float] = mapped_column(Float, default=0.5)
    # The AI stays quiet this long after a teammate replied in the conversation.
    quiet_minutes: Mapped[int] = mapped_column(Integer, default=30, server_default="30")
    # Where the law requires it (Meta's Send API page: "automated chat experiences must disclose
    # that a person is interacting with an automated service"), the first AI reply in a
    # conversation says it is automated. On by default; None text means DEFAULT_DISCLOSURE.
    disclose: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    disclosure_text: Mapped[str | None] = mapped_column(Text)

    def disclosure(self, account: str) -> str:
        """The sentence the first AI reply of a conversation starts with, its names filled in."""
        template = self.disclosure_text or DEFAULT_DISCLOSURE
        return template.replace("{agent}", self.name).replace("{account}", account)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class KnowledgeEntry(Base):
    __tablename__ = "knowledge_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # Part of the retrieval index's cache key: an edit rebuilds the agent's index.
    updated_at: Mapped[datetime | None] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
