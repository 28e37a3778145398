"""Housekeeping jobs for accounts."""
from __future__ import annotations

from datetime import timedelta

from flask import current_app
from sqlalchemy import delete, or_

from keloa_web.accounts.passwords import MEMORY
from keloa_web.db import db, utcnow
from keloa_web.models import Invite, LoginAttempt, UserSession
from keloa_web.jobs import job


@job("default")
def purge_stale_records() -> int:
    """Delete invitations dead for a month, login failures the throttle forgot and sign-in sessions
    that can no longer be used (a missing row is refused like an ended one); returns rows removed."""
    now = utcnow()
    cfg = current_app.config
    with db.session_scope() as session:
        invites = session.execute(delete(Invite).where(
            or_(Invite.expires_at < now - timedelta(days=30), Invite.used_at < now - timedelta(days=30))
        )).rowcount
        attempts = session.execute(delete(LoginAttempt).where(LoginAttempt.at < now - MEMORY)).rowcount
        sessions = session.execute(delete(UserSession).where(or_(
            UserSession.ended_at.is_not(None),
            UserSession.last_seen_at < now - timedelta(minutes=cfg["SESSION_IDLE_MINUTES"]),
            UserSession.created_at < now - timedelta(days=cfg["SESSION_MAX_DAYS"]),
        ))).rowcount
    return invites + attempts + sessions


def purge_hourly() -> None:
    purge_stale_records.enqueue()
