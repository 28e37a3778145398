"""Customers, their conversations, messages, attachments, reactions and the change feed."""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import (
    JSON, BigInteger, Boolean, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint,
)
from sqlalchemy import text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from keloa_web.db import Base, utcnow
from keloa_web.models.checks import one_of

if TYPE_CHECKING:
    from keloa_web.models.labels import Label


class Contact(Base):
    """An Instagram user (IGSID) who wrote to one channel. IGSIDs are scoped to the business."""

    __tablename__ = "contacts"
    __table_args__ = (UniqueConstraint("channel_id", "igsid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    igsid: Mapped[str] = mapped_column(String(64))
    name: Mapped[str | None] = mapped_column(String(200))
    username: Mapped[str | None] = mapped_column(String(120), index=True)
    picture_path: Mapped[str | None] = mapped_column(String(300))  # cached copy under MEDIA_DIR
    profile_fetched_at: Mapped[datetime | None] = mapped_column(DateTime)
    profile_error: Mapped[str | None] = mapped_column(Text)
    # What Meta's profile lookup says beside the name, when it says it (None: not returned).
    follower_count: Mapped[int | None] = mapped_column(Integer)
    is_verified_user: Mapped[bool | None] = mapped_column(Boolean)
    is_user_follow_business: Mapped[bool | None] = mapped_column(Boolean)
    is_business_follow_user: Mapped[bool | None] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    @property
    def label(self) -> str:
        if self.name:
            return self.name
        if self.username:
            return f"@{self.username}"
        return "Instagram user"


class ConversationStatus(StrEnum):
    OPEN = "open"
    PENDING = "pending"  # waiting on the customer: out of the Open list until they write
    SNOOZED = "snoozed"  # out of the Open list until `snoozed_until`, or until the customer writes
    RESOLVED = "resolved"


class WindowState(StrEnum):
    """What Meta last said about sending in a conversation (None: nothing)."""

    UNTAGGED_REFUSED = "untagged_refused"
    CLOSED = "closed"


class Conversation(Base):
    __tablename__ = "conversations"
    __table_args__ = (
        one_of("status", ConversationStatus),
        one_of("meta_window_state", WindowState),
        Index("ix_conversations_list", "status", "last_activity_at"),
        Index("ix_conversations_channel_activity", "channel_id", "last_activity_at"),
        Index("ix_conversations_assignee_activity", "assignee_id", "last_activity_at"),
        Index("ix_conversations_unread", "status", "unread_count"),  # the inbox's unread total
        Index("ix_conversations_activity", "last_activity_at"),  # the "All" list, and searches in it
        Index("ix_conversations_created", "created_at"),  # conversations opened in a period (Reports)
        Index("ix_conversations_contact", "contact_id"),  # a search by name, on PostgreSQL
        # The window-phase filters and views: a range of the customer's last message, per status.
        Index("ix_conversations_window", "status", "last_customer_message_at"),
        # Conversations still waiting for a first reply, per account by age (the "waiting for a first
        # reply" flag): few rows, so the list and its count never walk an account's whole history.
        Index("ix_conversations_unreplied", "channel_id", "created_at", sqlite_where=text("first_reply_at IS NULL"),
              postgresql_where=text("first_reply_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), unique=True)
    status: Mapped[str] = mapped_column(String(16), default=ConversationStatus.OPEN)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    unread_count: Mapped[int] = mapped_column(Integer, default=0)
    last_customer_message_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_activity_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_message_preview: Mapped[str] = mapped_column(String(200), default="")
    customer_seen_at: Mapped[datetime | None] = mapped_column(DateTime)  # customer's read receipt
    meta_window_state: Mapped[str | None] = mapped_column(String(32))
    meta_window_state_at: Mapped[datetime | None] = mapped_column(DateTime)
    # The customer's latest message sent from a Click-to-Direct ad (referral source ADS): Meta's
    # standard window then lasts up to WINDOW_AD_HOURS from it.
    ad_message_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Another app owns this thread (Conversation Routing): its events come in standby[]; Keloa shows
    # them and may not answer until the thread is passed back.
    standby_since: Mapped[datetime | None] = mapped_column(DateTime)
    # Status snoozed: when it wakes by itself (keloa_web/inbox/snooze.py); None: when the customer writes.
    snoozed_until: Mapped[datetime | None] = mapped_column(DateTime)
    # When the business first answered (a teammate, the AI, or from the Instagram app); None: not yet.
    first_reply_at: Mapped[datetime | None] = mapped_column(DateTime)
    ai_paused: Mapped[bool] = mapped_column(Boolean, default=False)
    needs_human: Mapped[bool] = mapped_column(Boolean, default=False)
    last_marked_seen_mid: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    contact: Mapped[Contact] = relationship(lazy="joined")
    # Loaded for a page of rows in one query; ordered by name wherever they are shown.
    labels: Mapped[list["Label"]] = relationship(secondary="conversation_labels", lazy="selectin",
                                                 order_by="Label.name")


class Direction(StrEnum):
    IN = "in"  # from the customer
    OUT = "out"  # to the customer
    NOTE = "note"  # inside the team only


class MessageKind(StrEnum):
    TEXT = "text"
    IMAGE = "image"
    VIDEO = "video"
    AUDIO = "audio"
    FILE = "file"
    STORY_REPLY = "story_reply"
    STORY_MENTION = "story_mention"
    SHARE = "share"
    REEL = "reel"
    IG_POST = "ig_post"
    IG_STORY = "ig_story"
    EPHEMERAL = "ephemeral"
    UNSUPPORTED = "unsupported"
    POSTBACK = "postback"
    REFERRAL = "referral"
    NOTE = "note"


class AuthorType(StrEnum):
    CUSTOMER = "customer"
    USER = "user"  # a teammate, in Keloa
    AI = "ai"
    INSTAGRAM = "instagram"  # sent from the Instagram app
    SYSTEM = "system"


class MessageStatus(StrEnum):
    RECEIVED = "received"
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    UNKNOWN = "unknown"  # Graph gave no answer: check Instagram


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("channel_id", "mid"),
        one_of("direction", Direction),
        one_of("kind", MessageKind),
        one_of("author_type", AuthorType),
        one_of("status", MessageStatus),
        Index("ix_messages_conversation_sent", "conversation_id", "sent_at"),
        # The Reports page's counts of a period, read from the index alone.
        Index("ix_messages_period", "sent_at", "direction", "author_type", "status", "author_user_id", "channel_id"),
        # Replies waiting to go out, per account, oldest first (the send drains, sends/drains.py).
        Index("ix_messages_queued", "channel_id", "id", sqlite_where=text(f"status = '{MessageStatus.QUEUED}'"),
              postgresql_where=text(f"status = '{MessageStatus.QUEUED}'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    mid: Mapped[str | None] = mapped_column(String(300))
    direction: Mapped[str] = mapped_column(String(8))
    kind: Mapped[str] = mapped_column(String(24), default=MessageKind.TEXT)
    text: Mapped[str | None] = mapped_column(Text)
    author_type: Mapped[str] = mapped_column(String(16), default=AuthorType.CUSTOMER)
    author_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    author_agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(16), default=MessageStatus.RECEIVED)
    error: Mapped[str | None] = mapped_column(Text)
    tag: Mapped[str | None] = mapped_column(String(32))
    sent_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)  # Meta's timestamp
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    edited_at: Mapped[datetime | None] = mapped_column(DateTime)
    edit_count: Mapped[int] = mapped_column(Integer, default=0)
    reply_to_mid: Mapped[str | None] = mapped_column(String(300))
    story_id: Mapped[str | None] = mapped_column(String(64))
    story_url: Mapped[str | None] = mapped_column(Text)  # Meta's CDN URL; story media is never stored
    link_url: Mapped[str | None] = mapped_column(Text)
    link_title: Mapped[str | None] = mapped_column(Text)
    extra: Mapped[dict | None] = mapped_column(JSON)
    send_attempts: Mapped[int] = mapped_column(Integer, default=0)
    # The inbound message an AI reply or AI note answers; unique, so a retried ai job never answers twice.
    answers_message_id: Mapped[int | None] = mapped_column(
        ForeignKey("messages.id", ondelete="SET NULL"), unique=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="message", cascade="all, delete-orphan", order_by="Attachment.id"
    )
    # Lets ingest create a conversation and its first messages in one flush (no id needed first).
    conversation: Mapped[Conversation] = relationship(lazy="select")


class AttachmentType(StrEnum):
    IMAGE = "image"
    VIDEO = "video"
    AUDIO = "audio"
    FILE = "file"


class AttachmentStatus(StrEnum):
    PENDING = "pending"  # to download
    STORED = "stored"  # under MEDIA_DIR
    FAILED = "failed"


class Attachment(Base):
    __tablename__ = "attachments"
    __table_args__ = (one_of("type", AttachmentType), one_of("status", AttachmentStatus))

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), index=True)
    type: Mapped[str] = mapped_column(String(16))
    source_url: Mapped[str | None] = mapped_column(Text)
    local_path: Mapped[str | None] = mapped_column(String(300))  # relative to MEDIA_DIR
    content_type: Mapped[str | None] = mapped_column(String(100))
    size: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16), default=AttachmentStatus.PENDING)
    error: Mapped[str | None] = mapped_column(Text)

    message: Mapped[Message] = relationship(back_populates="attachments")


class Reaction(Base):
    """A customer's reaction, keyed by Meta's message id so it may arrive before its message."""

    __tablename__ = "reactions"
    __table_args__ = (UniqueConstraint("channel_id", "mid", "reactor_igsid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    mid: Mapped[str] = mapped_column(String(300))
    reactor_igsid: Mapped[str] = mapped_column(String(64))
    reaction: Mapped[str | None] = mapped_column(String(32))
    emoji: Mapped[str | None] = mapped_column(String(32))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    event_ts: Mapped[int] = mapped_column(BigInteger, default=0)  # ms; the newest event wins


class PendingRead(Base):
    """A read receipt whose message is not known yet; applied when the message arrives."""

    __tablename__ = "pending_reads"
    __table_args__ = (UniqueConstraint("channel_id", "mid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    mid: Mapped[str] = mapped_column(String(300))
    event_ts: Mapped[int] = mapped_column(BigInteger)


class Change(Base):
    """Append-only feed of conversation changes; the live inbox polls it by id."""

    __tablename__ = "changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
