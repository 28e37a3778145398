"""Sign-in sessions kept on the server, so that ending one ends it for a copied cookie too.

Signing in creates a row of user_sessions with a random key; Flask-Login keeps that key (as the
"user id") in the signed session cookie, and the row keeps only the key's SHA-256. Each request
looks the row up with its user in one indexed query and refuses it once it is ended (sign-out,
"Sign out" on the Settings page, a password change elsewhere, deactivation), idle for
SESSION_IDLE_MINUTES or older than SESSION_MAX_DAYS. `last_seen_at` is written at most once a
minute. Signing in and out also clears the whole Flask session, so nothing of the previous person
(a pending Meta sign-in, a flash, a CSRF token) carries over to the next one at that browser.
"""
from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import timedelta

from flask import current_app, g, request, session
from flask_login import login_user, logout_user
from flask_wtf.csrf import generate_csrf
from redis import RedisError
from sqlalchemy import select, update

from keloa_web.db import db, utcnow
from keloa_web.models import User, UserSession

log = logging.getLogger(__name__)
TOUCH_EVERY = timedelta(minutes=1)
USER_AGENT_MAX = 255
_META_LOGIN_KEY = "meta_login"  # keloa_web/integrations/meta.py keeps a pending Meta sign-in there


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _client() -> dict:
    return {"ip": (request.remote_addr or "")[:64], "user_agent": (request.user_agent.string or "")[:USER_AGENT_MAX]}


def _forget_meta_login() -> None:
    if _META_LOGIN_KEY not in session:
        return
    from keloa_web.integrations.meta import forget_login

    try:
        forget_login()
    except RedisError:  # the session is cleared anyway; the record expires on its own within the hour
        log.warning("Could not delete a pending Meta sign-in from Redis", exc_info=True)


def _end_session_data() -> None:
    _forget_meta_login()
    session.clear()


def sign_in(user: User) -> UserSession:
    """Start a new session for `user` in this browser, dropping everything the old one held."""
    _end_session_data()
    key = secrets.token_urlsafe(32)
    now = utcnow()
    row = UserSession(key_hash=_hash(key), user_id=user.id, created_at=now, last_seen_at=now, **_client())
    db.session.add(row)
    db.session.commit()
    user.session_key = key
    login_user(user, remember=False)  # no remember-me cookie: the session row is the only way in
    # A fresh CSRF token now, in the cookie this answer sets: otherwise each page the browser loads
    # next (the redirect target, another tab) makes its own, the last answer's cookie wins, and the
    # forms of the other pages say "Your form expired". (Flask-WTF caches this request's token in g,
    # made from the session just cleared: drop it so the new one goes into the new session.)
    g.pop(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"), None)
    generate_csrf()
    g.user_session = row
    return row


def sign_out() -> None:
    """End this browser's session on the server and clear its cookie."""
    row = current()
    if row is not None:
        db.session.execute(update(UserSession).where(UserSession.id == row.id, UserSession.ended_at.is_(None))
                           .values(ended_at=utcnow()))
        db.session.commit()
    logout_user()
    _end_session_data()


def current() -> UserSession | None:
    """The session of this request's signed-in user (set by `load`)."""
    return g.get("user_session")


def _limits() -> tuple[timedelta, timedelta]:
    cfg = current_app.config
    return timedelta(minutes=cfg["SESSION_IDLE_MINUTES"]), timedelta(days=cfg["SESSION_MAX_DAYS"])


def load(key: str) -> User | None:
    """Flask-Login's user loader: the user of a live session, else None (the browser is signed out)."""
    found = db.session.execute(
        select(UserSession, User).join(User, User.id == UserSession.user_id).where(UserSession.key_hash == _hash(key))
    ).first()
    if found is None:
        return None
    row, user = found
    now = utcnow()
    idle, lifetime = _limits()
    if row.ended_at is not None or not user.active or now - row.last_seen_at > idle or now - row.created_at > lifetime:
        return None
    if now - row.last_seen_at >= TOUCH_EVERY:
        _touch(row, now)
    user.session_key = key
    g.user_session = row
    return user


def _touch(row: UserSession, now) -> None:
    """Record activity. The loader runs before the view has written anything: end the read (so a
    GET never upgrades a stale SQLite snapshot to a write) and commit this one update on its own."""
    db.release_idle()
    s = db.session()
    part_of_request = s.in_transaction()  # the request already wrote: its own commit carries this
    s.execute(update(UserSession).where(UserSession.id == row.id).values(last_seen_at=now, **_client()))
    if not part_of_request:
        s.commit()


def live_sessions(user_id: int) -> list[UserSession]:
    now = utcnow()
    idle, lifetime = _limits()
    return db.session.scalars(
        select(UserSession).where(
            UserSession.user_id == user_id, UserSession.ended_at.is_(None),
            UserSession.last_seen_at >= now - idle, UserSession.created_at >= now - lifetime,
        ).order_by(UserSession.last_seen_at.desc(), UserSession.id.desc())
    ).all()


def end_sessions(s, user_id: int, *, keep_id: int | None = None, only_id: int | None = None) -> int:
    """End `user_id`'s sessions (all, all but `keep_id`, or just `only_id`); returns how many ended.
    The caller commits."""
    stmt = update(UserSession).where(UserSession.user_id == user_id, UserSession.ended_at.is_(None))
    if keep_id is not None:
        stmt = stmt.where(UserSession.id != keep_id)
    if only_id is not None:
        stmt = stmt.where(UserSession.id == only_id)
    return s.execute(stmt.values(ended_at=utcnow())).rowcount
