"""What a refused send means, class by class (see the README's "Replies" section).

Meta has the last word on the window, so its refusals are remembered on the conversation
(`meta_window_state`) and the composer shows the real state next time.
"""
from __future__ import annotations

import logging
from typing import Callable

from flask import current_app

from keloa_web import changes, window
from keloa_web.db import db, utcnow
from keloa_web.graph import GraphError, GraphUnavailable
from keloa_web.integrations.channels import mark_needs_reconnect
from keloa_web.models import AuthorType, Channel, Conversation, Message, MessageStatus, WindowState
from keloa_web.sends.outbox import STANDBY

log = logging.getLogger(__name__)

AI_REFUSED = ("Instagram refused this AI reply: the reply window has closed. AI replies are paused here; "
              "a teammate should answer (it goes out tagged HUMAN_AGENT).")


def needs_reconnect(session, channel: Channel | None, reason: str) -> None:
    """Stop sends on this channel until an admin reconnects it (Integrations owns the status)."""
    if channel is not None:
        mark_needs_reconnect(session, channel.id, reason)


def handle_error(message_id: int, exc: GraphError, schedule_retry: Callable[[int, float], None]) -> None:
    retry_in = None
    with db.session_scope() as s:
        message = s.get(Message, message_id)
        conversation = s.get(Conversation, message.conversation_id)
        if exc.outside_window:
            retry_in = _outside_window(message, conversation)
        elif exc.token_invalid:
            channel = s.get(Channel, message.channel_id)
            needs_reconnect(s, channel, f"Meta no longer accepts this connection's access token: {exc.message}")
            _fail(message, f"Instagram no longer accepts Keloa's access to {channel.label}: an admin must "
                           "reconnect it in Integrations, then retry this message.")
        elif exc.rate_limited:
            retry_in = _retry_delay(exc.retry_after, message.send_attempts, rate_limited=True)
            _queue(message, "Instagram asked Keloa to slow down: sending again shortly.")
        elif isinstance(exc, GraphUnavailable) or exc.transient:
            limit = int(current_app.config["SEND_MAX_ATTEMPTS"])
            if message.send_attempts < limit:
                retry_in = _retry_delay(None, message.send_attempts)
                _queue(message, f"Instagram could not be reached (attempt {message.send_attempts} of {limit}): "
                                "trying again.")
            else:
                _fail(message, f"Instagram could not be reached after {limit} attempts ({exc.message}). "
                               "Check your connection, then retry.")
        elif exc.not_thread_owner:
            conversation.standby_since = conversation.standby_since or utcnow()
            _fail(message, f"Not sent: {STANDBY}")
        elif exc.dm_access_off:
            _fail(message, "The Instagram account's owner turned off “Allow access to messages” (Instagram "
                           "settings › Messages › Connected tools). Turn it on, then retry.")
        else:
            _fail(message, f"Instagram refused this message: {exc.user_message or exc.message}")
        changes.touch(s, conversation.id)
    log.info("send of message %s: %s -> %s", message_id, exc, "retry in %.1fs" % retry_in if retry_in is not None
             else "no retry")
    if retry_in is not None:
        schedule_retry(message_id, retry_in)


def _outside_window(message: Message, conversation: Conversation) -> float | None:
    now = utcnow()
    if message.author_type == AuthorType.AI:
        conversation.meta_window_state, conversation.meta_window_state_at = WindowState.UNTAGGED_REFUSED, now
        conversation.ai_paused = True
        conversation.needs_human = True
        _fail(message, AI_REFUSED)
        return None
    if message.tag is None:
        # A person wrote it, so it may go out once more tagged HUMAN_AGENT (the policy now says so).
        conversation.meta_window_state, conversation.meta_window_state_at = WindowState.UNTAGGED_REFUSED, now
        _queue(message, None)
        return 0.0
    conversation.meta_window_state, conversation.meta_window_state_at = WindowState.CLOSED, now
    _fail(message, window.REENGAGE)
    return None


def _retry_delay(advised: float | None, attempts: int, rate_limited: bool = False) -> float:
    cfg = current_app.config
    ceiling = float(cfg["SEND_RETRY_MAX_SECONDS"])
    if advised:
        return min(advised, ceiling)
    base = float(cfg["SEND_RETRY_BASE_SECONDS"])
    return min(base * (2 ** max(0, attempts - 1)), ceiling) if not rate_limited else min(base * 2, ceiling)


def _queue(message: Message, note: str | None) -> None:
    message.status, message.error = MessageStatus.QUEUED, note


def _fail(message: Message, reason: str) -> None:
    from sqlalchemy.orm import object_session

    from keloa_web.notifications import notify

    message.status, message.error = MessageStatus.FAILED, reason
    if (s := object_session(message)) is not None:
        notify.reply_failed(s, message)
