"""Housekeeping jobs for accounts."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, or_

from keloa_web.accounts.passwords import MEMORY
from keloa_web.db import db, utcnow
from keloa_web.models import Invite, LoginAttempt
from keloa_web.queue import job
from keloa_web.sweeper import periodic


@job("default")
def purge_stale_records() -> int:
    """Delete invitations dead for a month and login failures the throttle forgot; returns rows removed."""
    now = utcnow()
    with db.session_scope() as session:
        invites = session.execute(delete(Invite).where(
            or_(Invite.expires_at < now - timedelta(days=30), Invite.used_at < now - timedelta(days=30))
        )).rowcount
        attempts = session.execute(delete(LoginAttempt).where(LoginAttempt.at < now - MEMORY)).rowcount
    return invites + attempts


@periodic(3600)
def _purge_hourly() -> None:
    purge_stale_records.enqueue()
