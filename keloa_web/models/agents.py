"""AI agents and their knowledge entries."""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, DateTime, Float, ForeignKey, Integer, LargeBinary, String, Text, text, true
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
    # Other ways customers ask for this answer, one per line; retrieval matches them too.
    examples: Mapped[str] = mapped_column(Text, default="", server_default=text("''"))
    # ISO 639-1 code, detected from the title and body when saved (keloa_web/agents/language.py).
    language: Mapped[str | None] = mapped_column(String(8))
    # Unit vectors of the title + body and of each example question, float16, computed when the entry
    # is saved by the model named in vectors_model (keloa_web/agents/embeddings.py).
    vectors: Mapped[bytes | None] = mapped_column(LargeBinary)
    vectors_model: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # Part of the retrieval index's cache key: an edit rebuilds the agent's index.
    updated_at: Mapped[datetime | None] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    @property
    def example_list(self) -> list[str]:
        return [line.strip() for line in (self.examples or "").splitlines() if line.strip()]


class GapKind(StrEnum):
    """Why a customer message is listed on an agent's "Unanswered questions" page."""

    UNANSWERED = "unanswered"  # the agent handed off: no entry answered it well enough
    CORRECTED = "corrected"  # the agent answered, then a teammate replied before the customer wrote again


class KnowledgeGap(Base):
    """A customer message the agent's knowledge did not answer (or answered, and a person corrected)."""

    __tablename__ = "knowledge_gaps"
    __table_args__ = (one_of("kind", GapKind),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    question: Mapped[str] = mapped_column(Text)
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversations.id", ondelete="SET NULL"))
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"), unique=True)
    # The agent's reply a teammate corrected, and what the teammate sent (kind CORRECTED).
    ai_reply: Mapped[str | None] = mapped_column(Text)
    teammate_reply: Mapped[str | None] = mapped_column(Text)
    # The closest entry when the agent handed off (its title kept even if the entry goes).
    best_entry_id: Mapped[int | None] = mapped_column(ForeignKey("knowledge_entries.id", ondelete="SET NULL"))
    best_title: Mapped[str | None] = mapped_column(String(300))
    best_score: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    # Closed when an admin added an entry for it or dismissed it.
    closed_at: Mapped[datetime | None] = mapped_column(DateTime)
    closed_entry_id: Mapped[int | None] = mapped_column(ForeignKey("knowledge_entries.id", ondelete="SET NULL"))
