"""Team members, their sign-in sessions, invitations and login attempts."""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from flask_login import UserMixin
from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from keloa_web.db import Base, utcnow
from keloa_web.models.checks import one_of


class Role(StrEnum):
    ADMIN = "admin"
    AGENT = "agent"



class Availability(StrEnum):
    """Whether a teammate takes new conversations now (round-robin assignment skips whoever is away)."""

    ONLINE = "online"
    AWAY = "away"


class TwoFactorRule(StrEnum):
    """Who must sign in with a second factor (the team's rule, set by an admin on the Team page)."""

    NOBODY = "nobody"
    ADMINS = "admins"
    EVERYONE = "everyone"


class User(UserMixin, Base):
    __tablename__ = "users"
    __table_args__ = (one_of("role", Role), one_of("availability", Availability))

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default=Role.AGENT)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    availability: Mapped[str] = mapped_column(String(8), default=Availability.ONLINE,
                                              server_default=Availability.ONLINE)
    # Which notifications, and how (keloa_web/notifications/prefs.py); None: the defaults.
    notify_prefs: Mapped[dict | None] = mapped_column(JSON)
    last_digest_at: Mapped[datetime | None] = mapped_column(DateTime)  # the last notification email
    # The IANA zone times are shown in ("Europe/Paris"); empty: the browser's own.
    time_zone: Mapped[str] = mapped_column(String(64), default="", server_default=text("''"))
    # Two-factor sign-in (keloa_web/accounts/two_factor.py): the TOTP secret, encrypted; one being
    # set up until its first code is confirmed; the last time step used (a code works once).
    totp_secret_enc: Mapped[str | None] = mapped_column(String(255))
    totp_pending_enc: Mapped[str | None] = mapped_column(String(255))
    totp_enabled_at: Mapped[datetime | None] = mapped_column(DateTime)
    totp_last_step: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # No longer read: since migration 0008 each sign-in is a row of user_sessions, ended there.
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    # The key of the sign-in session this object was loaded for (accounts/user_sessions.py); not stored.
    session_key = None

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def two_factor_on(self) -> bool:
        return self.totp_enabled_at is not None and bool(self.totp_secret_enc)

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.active

    def get_id(self) -> str:
        """What Flask-Login keeps in the session cookie: the sign-in session's key, not the user id."""
        if not self.session_key:
            raise RuntimeError("Sign users in with keloa_web.accounts.user_sessions.sign_in()")
        return self.session_key


class UserSession(Base):
    """One signed-in browser. Its key lives only in that browser's cookie; the row keeps its SHA-256."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # Updated at most once a minute (accounts/user_sessions.py), with the address it came from.
    last_seen_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    ip: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(255), default="")
    ended_at: Mapped[datetime | None] = mapped_column(DateTime)


class Invite(Base):
    __tablename__ = "invites"
    __table_args__ = (one_of("role", Role),)

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str] = mapped_column(String(254))
    role: Mapped[str] = mapped_column(String(16), default=Role.AGENT)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    used_at: Mapped[datetime | None] = mapped_column(DateTime)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


class LoginAttempt(Base):
    """Failed logins, counted per IP and per email for rate limiting."""

    __tablename__ = "login_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    ip: Mapped[str] = mapped_column(String(64), index=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)


class PasswordReset(Base):
    """A "Forgot password?" link: single use, expiring; the browser has the token, the row its SHA-256."""

    __tablename__ = "password_resets"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    used_at: Mapped[datetime | None] = mapped_column(DateTime)


class BackupCode(Base):
    """One of a user's ten single-use two-factor backup codes (kept as a SHA-256)."""

    __tablename__ = "backup_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(DateTime)


class EmailChange(Base):
    """A new sign-in email waiting for its owner to open the link sent to it (single use, a day)."""

    __tablename__ = "email_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    new_email: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    used_at: Mapped[datetime | None] = mapped_column(DateTime)


class TeamSettings(Base):
    """Settings of the whole team, one row (id 1): today, who must use two-factor sign-in."""

    __tablename__ = "team_settings"
    __table_args__ = (one_of("two_factor_rule", TwoFactorRule),)

    id: Mapped[int] = mapped_column(primary_key=True)
    two_factor_rule: Mapped[str] = mapped_column(String(16), default=TwoFactorRule.NOBODY,
                                                 server_default=TwoFactorRule.NOBODY)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
