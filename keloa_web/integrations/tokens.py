"""Instagram Login's tokens renew themselves, well before they expire.

A long-lived Instagram User token lasts about 60 days; Meta refreshes one that is at least 24 hours
old and not expired, for 60 days from the refresh (graph.instagram.com/refresh_access_token,
`grant_type=ig_refresh_token`). Every hour `refresh_tokens` renews each Instagram Login channel
whose token is over REFRESH_AFTER old. A refresh that fails is tried again the next hour; after
GIVE_UP failures in a row, or when the token has less than WARN_BEFORE left, the channel shows
"Needs reconnect" with the reason, days before the token dies. A token Meta calls invalid (190)
does the same at once. Page tokens (Facebook Login) never expire and are not touched.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select

from keloa_web import crypto
from keloa_web.db import db, utcnow
from keloa_web.graph import GraphClient, GraphError
from keloa_web.integrations import channels as channel_ops
from keloa_web.integrations.instagram import expires_at
from keloa_web.models import Channel, ChannelStatus, Login

log = logging.getLogger(__name__)
MIN_AGE = timedelta(hours=24)  # Meta: refreshable once 24 hours old
REFRESH_AFTER = timedelta(days=7)  # renewed weekly: 50 days of margin for anything that goes wrong
WARN_BEFORE = timedelta(days=7)  # a token that could not be renewed and has less left: needs reconnect
GIVE_UP = 24  # failures in a row (one an hour) before the channel asks to be reconnected


def next_refresh(issued: datetime, expires: datetime) -> datetime:
    """When Keloa renews a token: a week after it was issued, sooner if it expires sooner, never
    before Meta allows (24 hours)."""
    return max(issued + MIN_AGE, min(issued + REFRESH_AFTER, expires - WARN_BEFORE))


def due(now: datetime | None = None) -> list[int]:
    now = now or utcnow()
    with db.session_scope(write=False) as s:
        rows = s.execute(select(Channel.id, Channel.token_issued_at, Channel.token_expires_at).where(
            Channel.login == Login.INSTAGRAM, Channel.status == ChannelStatus.ACTIVE,
            Channel.page_token_enc.is_not(None))).all()
    return [cid for cid, issued, expires in rows
            if issued is None or expires is None or now >= next_refresh(issued, expires)]


def refresh_tokens() -> None:
    """Periodic (keloa_web/jobs.py): renew every Instagram Login token that is due."""
    for channel_id in due():
        refresh_channel(channel_id)


def refresh_channel(channel_id: int) -> str:
    """Renew one channel's token; says what happened (refreshed, failed, needs_reconnect, skipped)."""
    with db.session_scope(write=False) as s:
        channel = s.get(Channel, channel_id)
        if channel is None or channel.login != Login.INSTAGRAM or channel.status != ChannelStatus.ACTIVE:
            return "skipped"
        token = crypto.decrypt(channel.page_token_enc)
    if not token:
        return "skipped"
    issued = utcnow()
    try:
        body = GraphClient.from_app(api="instagram").token_endpoint(
            "refresh_access_token", {"grant_type": "ig_refresh_token", "access_token": token})
        new_token = str(body["access_token"])
    except (GraphError, KeyError, TypeError) as exc:
        return _failed(channel_id, exc)
    with db.session_scope() as s:
        channel = s.get(Channel, channel_id)
        channel.page_token_enc = crypto.encrypt(new_token)
        channel.token_issued_at, channel.token_expires_at = issued, expires_at(issued, body)
        channel.token_refresh_failures, channel.token_refresh_error = 0, None
    log.info("Channel %s: Instagram token renewed until %s", channel_id, f"{expires_at(issued, body):%Y-%m-%d}")
    return "refreshed"


def _failed(channel_id: int, exc: Exception) -> str:
    message = getattr(exc, "message", None) or f"an unexpected answer ({type(exc).__name__})"
    with db.session_scope() as s:
        channel = s.get(Channel, channel_id)
        if isinstance(exc, GraphError) and exc.token_invalid:
            channel_ops.mark_needs_reconnect(s, channel_id, channel_ops.token_reason(exc))
            channel.token_refresh_error = message[:500]
            return "needs_reconnect"
        channel.token_refresh_failures += 1
        channel.token_refresh_error = message[:500]
        left = (channel.token_expires_at - utcnow()) if channel.token_expires_at else timedelta(0)
        if channel.token_refresh_failures >= GIVE_UP or left < WARN_BEFORE:
            when = f"{channel.token_expires_at:%Y-%m-%d}" if channel.token_expires_at else "soon"
            channel_ops.mark_needs_reconnect(
                s, channel_id, f"Instagram did not renew this account's access token "
                               f"({channel.token_refresh_failures} tries, the last: {message}). It expires on {when}: "
                               "reconnect with Instagram before then.")
            return "needs_reconnect"
    log.warning("Channel %s: Instagram token not renewed (%s); trying again in an hour", channel_id, message)
    return "failed"
