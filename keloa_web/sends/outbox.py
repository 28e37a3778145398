"""The outbox: the one way a reply (a teammate's or an AI agent's) enters Keloa.

    message = outbox.create_outgoing(session, conversation, text="Hi!", author_type="ai", agent_id=3)
    session.commit()   # the send job is enqueued only after this commit succeeds

It checks the window policy and the channel, stores a `queued` outbound Message and queues
`send_message(message.id)` on the `sends` queue once the caller's transaction commits (so a
rolled-back reply is never sent). Refusals raise `SendRefused` with a reason a person can read.
"""
from __future__ import annotations

import logging

from sqlalchemy import event
from sqlalchemy.orm import Session, scoped_session

from keloa_web import changes, jobs, window
from keloa_web.db import utcnow
from keloa_web.describe import preview
from keloa_web.models import (
    Attachment, AuthorType, Channel, Conversation, Direction, Message, MessageKind, MessageStatus,
)

log = logging.getLogger(__name__)
TEXT_MAX_BYTES = 1000  # Meta: message text is UTF-8, at most 1000 bytes
AUTHOR_TYPES = (AuthorType.USER, AuthorType.AI)  # who may write a reply


class SendRefused(Exception):
    """The reply may not be sent; `str(exc)` says why, for the person or the log."""


def text_problem(text: str | None) -> str | None:
    """Why this text cannot be sent, or None. Shared by the composer and the outbox."""
    if text is None or not text.strip():
        return "Write a message first."
    size = len(text.encode("utf-8"))
    if size > TEXT_MAX_BYTES:
        return f"Instagram accepts at most {TEXT_MAX_BYTES} bytes per message; this one has {size}. Shorten it or split it."
    return None


def sender_of(author_type: str) -> str:
    """The window policy's word for who sends (keloa_web/window.py)."""
    return "ai" if author_type == AuthorType.AI else "human"


STANDBY = ("Another app answers this conversation in Instagram (Meta's Conversation Routing gave it the "
           "thread): Keloa shows its messages but cannot reply until that app passes the conversation back.")


def channel_problem(channel: Channel | None, conversation: Conversation | None = None) -> str | None:
    """Why nothing can be sent in this channel (or this conversation of it), or None."""
    if channel is None:
        return "This conversation's Instagram account was removed from Keloa."
    if channel.can_send:
        return STANDBY if conversation is not None and conversation.standby_since is not None else None
    if channel.status == "needs_reconnect":
        return f"{channel.label} needs reconnecting (Integrations) before replies can go out."
    return f"{channel.label} is disconnected: reconnect it in Integrations to reply."


def create_outgoing(session: Session, conversation: Conversation, *, text: str | None = None,
                    attachment: Attachment | None = None, author_type: str = AuthorType.USER,
                    user_id: int | None = None, agent_id: int | None = None, reply_to_mid: str | None = None) -> Message:
    """Queue one reply (text, or one attachment) in `conversation`; raises SendRefused.

    `attachment` is an unsaved `Attachment(type=..., local_path=..., content_type=..., size=...,
    status="stored")` whose file is already in Keloa's media storage.
    """
    if author_type not in AUTHOR_TYPES:
        raise ValueError(f"author_type must be one of {AUTHOR_TYPES}")
    if (text is None) == (attachment is None):
        raise ValueError("a message carries either text or one attachment")
    if text is not None and (problem := text_problem(text)):
        raise SendRefused(problem)
    if conversation.ai_paused and author_type == AuthorType.AI:
        raise SendRefused("AI replies are paused for this conversation.")
    problem = channel_problem(session.get(Channel, conversation.channel_id), conversation)
    if problem:
        raise SendRefused(problem)
    decision = window.for_conversation(conversation, sender_of(author_type))
    if not decision.allowed:
        raise SendRefused(decision.reason)

    now = utcnow()
    message = Message(
        conversation_id=conversation.id, channel_id=conversation.channel_id, direction=Direction.OUT,
        kind=attachment.type if attachment is not None else MessageKind.TEXT, text=text, author_type=author_type,
        author_user_id=user_id, author_agent_id=agent_id, status=MessageStatus.QUEUED, tag=decision.tag, sent_at=now,
        reply_to_mid=reply_to_mid,  # sent as the Send API's reply_to: Instagram shows it as a reply
    )
    if attachment is not None:
        message.attachments.append(attachment)
    session.add(message)
    conversation.last_activity_at = now
    conversation.last_message_preview = preview(message)
    conversation.first_reply_at = conversation.first_reply_at or now
    session.flush()
    changes.touch(session, conversation.id)
    if author_type == AuthorType.USER and text is not None:
        jobs.emit("teammate_reply", session=session, conversation=conversation, message=message)
    after_commit(session, _enqueue_send, message.id, message.channel_id)
    return message


def _enqueue_send(message_id: int, channel_id: int) -> None:
    from redis.exceptions import RedisError

    from keloa_web.db import db
    from keloa_web.sends.drains import request_sends

    try:
        request_sends(channel_id)
    except RedisError as exc:  # the reply is saved; say it did not leave, and offer Retry
        log.error("could not queue message %s: %s", message_id, exc)
        with db.session_scope() as s:
            message = s.get(Message, message_id)
            message.status = MessageStatus.FAILED
            message.error = "Keloa's job queue (Redis) did not answer, so this was not sent. Retry in a moment."
            changes.touch(s, message.conversation_id)


def after_commit(session: Session, fn, *args) -> None:
    """Run `fn(*args)` once the session's current transaction commits; drop it on rollback."""
    if isinstance(session, scoped_session):
        session = session()  # the request's own Session: events attach to a real one
    pending = session.info.setdefault("keloa_after_commit", [])
    if not session.info.get("keloa_after_commit_hooked"):
        session.info["keloa_after_commit_hooked"] = True
        event.listen(session, "after_commit", _run_pending)
        event.listen(session, "after_soft_rollback", _drop_pending)
    pending.append((fn, args))


def _run_pending(session: Session) -> None:
    pending, session.info["keloa_after_commit"] = session.info.get("keloa_after_commit", []), []
    for fn, args in pending:
        fn(*args)


def _drop_pending(session: Session, _previous_transaction) -> None:
    session.info["keloa_after_commit"] = []
