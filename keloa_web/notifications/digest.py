"""The email digest: notifications a teammate has not seen, while no Keloa tab of theirs is open,
go out together in one email, at most one per NOTIFY_DIGEST_MINUTES (the worker runs this every
minute). A notification seen in time, or of someone with email off, is never emailed."""
from __future__ import annotations

import logging
from datetime import timedelta

from flask import current_app
from sqlalchemy import select, update

from keloa_web import mail
from keloa_web.db import db, utcnow
from keloa_web.models import Notification, User
from keloa_web.notifications import prefs
from keloa_web.notifications.notify import visible_to

log = logging.getLogger(__name__)
MAX_LISTED = 20


def _present(user_id: int) -> bool:
    from keloa_web.jobs import get_redis
    from keloa_web.live.views import PRESENT_KEY

    try:
        return bool(get_redis().exists(PRESENT_KEY.format(user_id)))
    except Exception:  # noqa: BLE001 - without Redis nobody can tell: assume away, so nothing is lost
        return False


def send_digests() -> int:
    """Email whoever is due; returns how many emails went out."""
    cfg = current_app.config
    now = utcnow()
    ripe = now - timedelta(seconds=cfg["NOTIFY_EMAIL_AFTER_SECONDS"])
    with db.session_scope() as s:
        # Seen ones, and those of people who want no email, are settled: never emailed.
        s.execute(update(Notification).where(Notification.emailed_at.is_(None), Notification.seen_at.is_not(None))
                  .values(emailed_at=now))
        user_ids = set(s.scalars(select(Notification.user_id).where(
            Notification.emailed_at.is_(None), Notification.created_at <= ripe).distinct()))
    sent = 0
    for user_id in sorted(user_ids):
        with db.session_scope() as s:
            user = s.get(User, user_id)
            every = s.scalars(select(Notification).where(Notification.user_id == user_id,
                                                         Notification.emailed_at.is_(None))).all()
            pending = s.scalars(visible_to(s, user_id, select(Notification)).where(Notification.emailed_at.is_(None))
                                .order_by(Notification.id)).all()
            for n in set(every) - set(pending):  # about an account no longer theirs to see: never emailed
                n.emailed_at = now
            if not pending:
                continue
            if user is None or not user.active or not prefs.of(user).email or not mail.configured():
                for n in pending:
                    n.emailed_at = now
                continue
            if _present(user_id):
                continue  # a tab is open: the browser tells them (the notification may still be seen)
            if user.last_digest_at and user.last_digest_at > now - timedelta(minutes=cfg["NOTIFY_DIGEST_MINUTES"]):
                continue  # one email per few minutes: these wait for the next
            subject, text = _compose(user, pending)
            mail.queue(s, user.email, subject, text)  # sent by a job, with retries
            for n in pending:
                n.emailed_at = now
            user.last_digest_at = now
            sent += 1
    return sent


def _compose(user: User, pending: list[Notification]) -> tuple[str, str]:
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    count = len(pending)
    subject = pending[0].title if count == 1 else f"{count} new notifications in Keloa"
    lines = [f"Hello {user.name.split()[0] if user.name.split() else user.name},", "",
             "While you were away from Keloa:", ""]
    for n in pending[:MAX_LISTED]:
        lines.append(f"- {n.title}" + (f": {n.body}" if n.body else ""))
        lines.append(f"  {base}/notifications/{n.id}/open")
    if count > MAX_LISTED:
        lines.append(f"- and {count - MAX_LISTED} more: {base}/notifications")
    lines += ["", f"Choose what Keloa emails you about: {base}/settings#notifications"]
    return subject, "\n".join(lines)
