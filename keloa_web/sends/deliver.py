"""Send one reply through Meta's Send API and record what Meta answered.

The database holds the truth: a job only sends a message it moves from `queued` to `sending`
itself, so running it twice (RQ retry, duplicate enqueue) never sends twice. The window is checked
again here, at send time. The Graph call happens outside any transaction so the SQLite write lock
is not held across the network. Fresh replies reach `deliver` through sends/drains.py; retries and
re-queued ones through the `send_message` job.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError

from keloa_web import changes, window
from keloa_web.db import db
from keloa_web.graph import ChannelApi, GraphError, GraphTimeout, for_channel
from keloa_web.jobs import job
from keloa_web.mids import adopt_mid
from keloa_web.models import AuthorType, Channel, Contact, Conversation, Message, MessageKind, MessageStatus
from keloa_web.sends import outbox, ratelimit
from keloa_web.sends.failures import handle_error, needs_reconnect


@dataclass
class Prepared:
    api: ChannelApi  # the channel's Graph host, token and sending node
    body: dict
    ig_account_id: str
    bucket: str


@job("sends", timeout=90)
def send_message(message_id: int) -> None:
    """Send one queued reply through the Send API and record what Meta answered (retries, Retry)."""
    prepared = _prepare(message_id)
    if prepared is None:
        return
    if not ratelimit.wait_for_slot(prepared.ig_account_id, prepared.bucket):
        with db.session_scope() as s:  # a busy account: give the attempt back and try a little later
            message = s.get(Message, message_id)
            message.status, message.send_attempts = MessageStatus.QUEUED, message.send_attempts - 1
        send_message.enqueue_in(ratelimit.REQUEUE_SECONDS, message_id)
        return
    deliver(message_id, prepared)


def deliver(message_id: int, prepared: Prepared) -> None:
    try:
        result = prepared.api.post(prepared.api.messages, json=prepared.body)
    except GraphTimeout:
        _set(message_id, MessageStatus.UNKNOWN,
             "Unknown — check Instagram: Instagram did not answer in time, so Keloa cannot "
             "tell whether this reached the customer. Retry only if it is missing there.")
        return
    except GraphError as exc:  # GraphUnavailable included: it never reached Meta
        handle_error(message_id, exc, schedule_retry)
        return
    _record_sent(message_id, str(result.get("message_id") or ""))


def _prepare(message_id: int) -> Prepared | None:
    with db.session_scope() as s:
        message = s.get(Message, message_id, with_for_update=True)
        if message is None or message.status != MessageStatus.QUEUED:
            return None  # already sent, failed, unknown, or taken by another run
        return prepare_in(s, message)


def prepare_in(s, message: Message) -> Prepared | None:
    """Move a queued reply to `sending` in this transaction, or fail it with the reason it cannot go."""
    conversation = s.get(Conversation, message.conversation_id)
    channel = s.get(Channel, message.channel_id)
    problem = outbox.channel_problem(channel, conversation)
    if problem:
        _fail(s, message, problem)
        return None
    decision = window.for_conversation(conversation, outbox.sender_of(message.author_type))
    if not decision.allowed:
        if message.author_type == AuthorType.AI:
            conversation.needs_human = True
        _fail(s, message, decision.reason)
        return None
    api = for_channel(channel)
    if not api.token:
        needs_reconnect(s, channel, "Keloa can no longer read this account's access token.")
        _fail(s, message, f"{channel.label} needs reconnecting (Integrations) before replies can go out.")
        return None
    message.tag = decision.tag  # the window may have moved while the message waited
    message.status = MessageStatus.SENDING  # shown as "Sending…" like `queued`: no change to announce yet
    message.send_attempts += 1
    contact = s.get(Contact, conversation.contact_id)
    return Prepared(api, _body(message, contact.igsid), channel.ig_account_id,
                    ratelimit.bucket_for(message.kind))


def _body(message: Message, igsid: str) -> dict:
    body: dict = {"recipient": {"id": igsid}}
    if message.tag:
        body.update(messaging_type="MESSAGE_TAG", tag=message.tag)
    else:
        body["messaging_type"] = "RESPONSE"
    if message.kind != MessageKind.TEXT and message.attachments:  # a reply is text or one attachment
        from keloa_web.sends.media import public_url

        att = message.attachments[0]
        body["message"] = {"attachment": {"type": att.type, "payload": {"url": public_url(att)}}}
    else:
        body["message"] = {"text": message.text or ""}
    if message.reply_to_mid:  # a reply to one message (the customer's or the business's own)
        body["reply_to"] = {"mid": message.reply_to_mid}
    return body


def schedule_retry(message_id: int, delay: float) -> None:
    if delay <= 0:
        send_message.enqueue(message_id)
    else:
        send_message.enqueue_in(delay, message_id)


def _record_sent(message_id: int, mid: str) -> None:
    """Store Meta's id; if the echo webhook got here first, keep our row and drop the echo's."""
    for attempt in range(3):
        try:
            with db.session_scope() as s:
                message = s.get(Message, message_id)
                message.status, message.error = MessageStatus.SENT, None
                if mid:
                    # Drops the echo's row if it came first, and applies a read receipt that
                    # arrived before Keloa knew this message's id.
                    adopt_mid(s, message, mid)
                changes.touch(s, message.conversation_id)
            return
        except IntegrityError:
            # PostgreSQL: the echo was stored by another worker between our look-up and our update
            # (SQLite's BEGIN IMMEDIATE rules that out). Look again: it is committed now.
            if attempt == 2:
                raise


def _set(message_id: int, status: str, error: str | None) -> None:
    with db.session_scope() as s:
        message = s.get(Message, message_id)
        message.status, message.error = status, error
        changes.touch(s, message.conversation_id)


def _fail(s, message: Message, reason: str) -> None:
    from keloa_web.notifications import notify

    message.status, message.error = MessageStatus.FAILED, reason
    changes.touch(s, message.conversation_id)
    notify.reply_failed(s, message)
