"""A channel is one connected Instagram professional account, through its Facebook Page (Facebook
Login) or on its own (Instagram Login)."""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, Boolean, Column, DateTime, ForeignKey, Integer, String, Table, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from keloa_web.db import Base, utcnow
from keloa_web.models.checks import one_of


class ChannelStatus(StrEnum):
    ACTIVE = "active"
    NEEDS_RECONNECT = "needs_reconnect"
    DISCONNECTED = "disconnected"


class Login(StrEnum):
    """How the account was connected, so which API its calls go to (keloa_web/graph.py, `for_channel`)."""

    FACEBOOK = "facebook"  # Facebook Login: a Page token, graph.facebook.com, the Page's webhooks
    INSTAGRAM = "instagram"  # Instagram Login: the account's own token, graph.instagram.com


class BackfillState(StrEnum):
    """How the import of a channel's past conversations goes (None: never started)."""

    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class Assignment(StrEnum):
    """How a new conversation of this account gets its teammate (keloa_web/inbox/assignment.py)."""

    MANUAL = "manual"  # it stays unassigned until someone assigns it
    ROUND_ROBIN = "round_robin"  # in turn, among the teammates who see the account and are online


class RetentionScope(StrEnum):
    """What an account's retention deletes once it is older than `retention_days`."""

    CONVERSATIONS = "conversations"  # the whole conversation: messages, media, contact
    MEDIA = "media"  # only the stored media files; the messages stay, saying the file was removed


class Channel(Base):
    __tablename__ = "channels"
    __table_args__ = (one_of("status", ChannelStatus), one_of("backfill_state", BackfillState), one_of("login", Login),
                      one_of("assignment", Assignment), one_of("retention_scope", RetentionScope))

    id: Mapped[int] = mapped_column(primary_key=True)
    ig_account_id: Mapped[str] = mapped_column(String(64), unique=True)
    ig_username: Mapped[str] = mapped_column(String(120), default="")
    ig_name: Mapped[str | None] = mapped_column(String(200))
    ig_picture_url: Mapped[str | None] = mapped_column(Text)
    login: Mapped[str] = mapped_column(String(16), default=Login.FACEBOOK, server_default=Login.FACEBOOK)
    page_id: Mapped[str] = mapped_column(String(64), index=True)  # "" for Instagram Login
    page_name: Mapped[str] = mapped_column(String(200), default="")
    # The token the channel's calls carry, Fernet-encrypted (keloa_web/crypto.py): the Page token
    # (Facebook Login, no expiry), or the account's long-lived Instagram User token (Instagram Login).
    page_token_enc: Mapped[str | None] = mapped_column(Text)
    # Instagram Login's token: what it was granted, when it was issued (or last refreshed), when it
    # expires, and the refreshes that failed in a row (keloa_web/integrations/tokens.py).
    token_scopes: Mapped[str | None] = mapped_column(Text)
    token_issued_at: Mapped[datetime | None] = mapped_column(DateTime)
    token_expires_at: Mapped[datetime | None] = mapped_column(DateTime)
    token_refresh_failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    token_refresh_error: Mapped[str | None] = mapped_column(Text)
    meta_user_id: Mapped[str | None] = mapped_column(String(64))
    meta_user_token_enc: Mapped[str | None] = mapped_column(Text)
    display_name: Mapped[str | None] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(24), default=ChannelStatus.ACTIVE)
    status_reason: Mapped[str | None] = mapped_column(Text)
    read_receipts: Mapped[bool] = mapped_column(Boolean, default=True)
    ai_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    last_webhook_at: Mapped[datetime | None] = mapped_column(DateTime)
    backfill_state: Mapped[str | None] = mapped_column(String(24))
    backfill_total: Mapped[int] = mapped_column(Integer, default=0)
    backfill_done: Mapped[int] = mapped_column(Integer, default=0)
    backfill_skipped: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    backfill_note: Mapped[str | None] = mapped_column(Text)  # why conversations were skipped
    # The first Conversations API call: a creator account gets no webhooks until one is made.
    conversations_api_at: Mapped[datetime | None] = mapped_column(DateTime)
    conversations_api_error: Mapped[str | None] = mapped_column(Text)
    # The ice breaker questions as last saved at Meta ([{"question", "payload"}], default locale).
    ice_breakers: Mapped[list | None] = mapped_column(JSON)
    # Per-account access (keloa_web/access.py): False, the whole team sees it; True, only admins
    # and the teammates in channel_members.
    restricted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    assignment: Mapped[str] = mapped_column(String(16), default=Assignment.MANUAL, server_default=Assignment.MANUAL)
    last_assigned_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # A conversation that waits longer than this without a first reply is flagged (None: never).
    first_reply_minutes: Mapped[int | None] = mapped_column(Integer)
    # Retention (keloa_web/operations/retention.py): what is older than this many days is deleted
    # (None: kept for ever); the last daily run's report.
    retention_days: Mapped[int | None] = mapped_column(Integer)
    retention_scope: Mapped[str] = mapped_column(String(16), default=RetentionScope.CONVERSATIONS,
                                                 server_default=RetentionScope.CONVERSATIONS)
    retention_ran_at: Mapped[datetime | None] = mapped_column(DateTime)
    retention_report: Mapped[str | None] = mapped_column(Text)
    connected_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    @property
    def label(self) -> str:
        return self.display_name or (f"@{self.ig_username}" if self.ig_username else self.page_name)

    @property
    def instagram_login(self) -> bool:
        return self.login == Login.INSTAGRAM

    @property
    def can_send(self) -> bool:
        return self.status == ChannelStatus.ACTIVE


# Who sees a restricted account besides the admins (keloa_web/access.py).
channel_members = Table(
    "channel_members", Base.metadata,
    Column("channel_id", ForeignKey("channels.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True),
)
