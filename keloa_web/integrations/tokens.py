"""Instagram Login's tokens renew themselves, well before they expire.

A long-lived Instagram User token lasts about 60 days; Meta refreshes one that is at least 24 hours
old and not expired, for 60 days from the refresh (graph.instagram.com/refresh_access_token,
`grant_type=ig_refresh_token`). Every hour `refresh_tokens` renews each Instagram Login channel
whose token is over REFRESH_AFTER old. A refresh Meta refuses is tried again the next hour; after
GIVE_UP refusals in a row, or when the token has less than WARN_BEFORE left, the channel shows
"Needs reconnect" with the reason, days before the token dies, and renewal is still tried every
hour until the token expires: one that succeeds makes the channel active again. Meta or the network
being down (no answer, a 5xx, a rate limit) counts only against WARN_BEFORE, never GIVE_UP: an outage
must not switch off a channel whose token is still good. A token Meta calls invalid (190), or one
this SECRET_KEY cannot read, needs reconnecting at once. Page tokens (Facebook Login) never expire
and are not touched.

Renewal calls Meta outside any transaction, so the channel may have changed meanwhile
(disconnected, erased, reconnected through Facebook, given a new token by a reconnect): the answer
is written only if the channel still holds the token that was renewed.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select

from keloa_web import crypto
from keloa_web.db import db, utcnow
from keloa_web.graph import GraphClient, GraphError, GraphTimeout, GraphUnavailable
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
    renewing = (Channel.status == ChannelStatus.ACTIVE) | (
        (Channel.status == ChannelStatus.NEEDS_RECONNECT) & (Channel.token_refresh_failures > 0)
        & (Channel.token_expires_at > now))  # not renewed in time: still worth trying until it dies
    with db.session_scope(write=False) as s:
        rows = s.execute(select(Channel.id, Channel.token_issued_at, Channel.token_expires_at).where(
            Channel.login == Login.INSTAGRAM, renewing, Channel.page_token_enc.is_not(None))).all()
    return [cid for cid, issued, expires in rows
            if issued is None or expires is None or now >= next_refresh(issued, expires)]


def refresh_tokens() -> None:
    """Periodic (keloa_web/jobs.py): renew every Instagram Login token that is due; one channel's
    surprise does not stop the others'."""
    for channel_id in due():
        try:
            refresh_channel(channel_id)
        except Exception:
            log.exception("Channel %s: token renewal failed unexpectedly", channel_id)


def _renewable(channel: Channel | None) -> bool:
    return channel is not None and channel.login == Login.INSTAGRAM and (
        channel.status == ChannelStatus.ACTIVE
        or (channel.status == ChannelStatus.NEEDS_RECONNECT and channel.token_refresh_failures > 0))


def refresh_channel(channel_id: int) -> str:
    """Renew one channel's token; says what happened (refreshed, failed, needs_reconnect, skipped)."""
    with db.session_scope(write=False) as s:
        channel = s.get(Channel, channel_id)
        if not _renewable(channel) or not channel.page_token_enc:
            return "skipped"
        sealed = channel.page_token_enc
    token = crypto.decrypt(sealed)
    if not token:
        with db.session_scope() as s:
            channel_ops.mark_needs_reconnect(s, channel_id, "Keloa cannot read this account's stored access token "
                                                            "(SECRET_KEY was changed): reconnect with Instagram.")
        return "needs_reconnect"
    issued = utcnow()
    try:
        body = GraphClient.from_app(api="instagram").token_endpoint(
            "refresh_access_token", {"grant_type": "ig_refresh_token", "access_token": token})
        new_token = body["access_token"]
        if not isinstance(new_token, str) or not new_token:
            raise TypeError("access_token")
    except (GraphError, KeyError, TypeError) as exc:
        return _failed(channel_id, sealed, exc)
    with db.session_scope() as s:
        channel = s.get(Channel, channel_id, with_for_update=True)
        if not _renewable(channel) or channel.page_token_enc != sealed:
            log.info("Channel %s changed while its token was renewed; the renewal is dropped", channel_id)
            return "skipped"
        channel.page_token_enc = crypto.encrypt(new_token)
        channel.token_issued_at, channel.token_expires_at = issued, expires_at(issued, body)
        channel.token_refresh_failures, channel.token_refresh_error = 0, None
        if channel.status == ChannelStatus.NEEDS_RECONNECT:  # it only needed the renewal
            channel.status, channel.status_reason = ChannelStatus.ACTIVE, None
    log.info("Channel %s: Instagram token renewed until %s", channel_id, f"{expires_at(issued, body):%Y-%m-%d}")
    return "refreshed"


def _transient(exc: Exception) -> bool:
    """Meta or the network down, not a refusal of this token."""
    return isinstance(exc, GraphError) and (
        isinstance(exc, (GraphUnavailable, GraphTimeout)) or exc.rate_limited or (exc.status or 0) >= 500)


def _failed(channel_id: int, sealed: str, exc: Exception) -> str:
    message = getattr(exc, "message", None) or f"an unexpected answer ({type(exc).__name__})"
    with db.session_scope() as s:
        channel = s.get(Channel, channel_id, with_for_update=True)
        if not _renewable(channel) or channel.page_token_enc != sealed:
            return "skipped"  # changed meanwhile: this failure is not its token's
        if isinstance(exc, GraphError) and exc.token_invalid:
            channel_ops.mark_needs_reconnect(s, channel_id, channel_ops.token_reason(exc))
            channel.token_refresh_failures, channel.token_refresh_error = 0, message[:500]
            return "needs_reconnect"
        if not _transient(exc):
            channel.token_refresh_failures += 1
        channel.token_refresh_error = message[:500]
        left = (channel.token_expires_at - utcnow()) if channel.token_expires_at else timedelta(0)
        if channel.token_refresh_failures >= GIVE_UP or left < WARN_BEFORE:
            channel.token_refresh_failures = max(channel.token_refresh_failures, 1)  # keep renewing it
            when = f"{channel.token_expires_at:%Y-%m-%d}" if channel.token_expires_at else "soon"
            tries = "" if _transient(exc) else f"{channel.token_refresh_failures} tries, "
            channel_ops.mark_needs_reconnect(
                s, channel_id, f"Instagram did not renew this account's access token ({tries}the last: "
                               f"{message}). It expires on {when}: reconnect with Instagram before then; Keloa "
                               "keeps trying every hour.")
            return "needs_reconnect"
    log.warning("Channel %s: Instagram token not renewed (%s); trying again in an hour", channel_id, message)
    return "failed"
