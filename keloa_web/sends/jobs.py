"""Send jobs on the `sends` queue: `send_message(message_id)` and `mark_seen(conversation_id)`.

The database holds the truth: a job only sends a message it moves from `queued` to `sending`
itself, so running it twice (RQ retry, duplicate enqueue) never sends twice. The Graph call happens
outside any transaction so the SQLite write lock is not held across the network.
"""
from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from rq.exceptions import DuplicateJobError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from keloa_web import changes, window
from keloa_web.crypto import decrypt
from keloa_web.db import db, utcnow
from keloa_web.graph import GraphClient, GraphError, GraphTimeout
from keloa_web.models import Channel, Contact, Conversation, Message
from keloa_web.queue import get_redis, job
from keloa_web.sends import outbox, ratelimit
from keloa_web.sends.failures import handle_error, needs_reconnect
from keloa_web.sweeper import periodic
from keloa_web.webhooks.handlers import adopt_mid

log = logging.getLogger(__name__)


@dataclass
class Prepared:
    page_id: str
    token: str
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
            message.status, message.send_attempts = "queued", message.send_attempts - 1
        send_message.enqueue_in(ratelimit.REQUEUE_SECONDS, message_id)
        return
    _deliver(message_id, prepared)


# New replies go out through a few drain jobs per account instead of one RQ job each: RQ's own
# bookkeeping (about 23 Redis commands per job, counted) cost more CPU than the send itself, and a
# burst of replies paid it once per reply. Up to SEND_DRAINS_PER_ACCOUNT drains run at once per
# account, so Graph's latency still overlaps; each claims the account's oldest fresh reply (never
# tried: retries keep their own scheduled `send_message`), sends it at the account's pace, and goes
# on until none is left. A drain holds a worker while it works: keep workers above accounts x drains.
# The counter in Redis says how many drains are queued or running.
DRAIN_KEY_TTL = 120  # seconds; refreshed while drains work, so a crashed drain's slot comes back


def _drains_key(channel_id: int) -> str:
    return f"keloa:sends:drains:{channel_id}"


def request_sends(channel_id: int) -> None:
    """A fresh reply of this account was committed: make sure a drain will send it. Raises RedisError."""
    conn, key = get_redis(), _drains_key(channel_id)
    if _take_slot(conn, key):
        send_fresh.enqueue(channel_id)


def _take_slot(conn, key: str) -> bool:
    taken = conn.incr(key)
    conn.expire(key, DRAIN_KEY_TTL)
    if taken <= max(1, int(current_app.config["SEND_DRAINS_PER_ACCOUNT"])):
        return True
    _give_slot(conn, key)  # enough drains already: one of them will take this reply
    return False


def _give_slot(conn, key: str) -> None:
    if conn.decr(key) < 0:
        conn.set(key, 0, ex=DRAIN_KEY_TTL)


@job("sends", timeout=900)
def send_fresh(channel_id: int) -> int:
    """Send this account's fresh queued replies, oldest first, until none is left; returns how many."""
    conn, key = get_redis(), _drains_key(channel_id)
    try:
        return _drain(conn, key, channel_id)
    except BaseException:
        _give_slot(conn, key)  # a failed drain frees its slot at once, not when the counter expires
        raise


def _drain(conn, key: str, channel_id: int) -> int:
    done = 0
    while True:
        claimed = _claim_fresh(channel_id)
        if claimed is None:
            _give_slot(conn, key)
            # A reply committed after our last look may have found every slot taken: look again
            # now that ours is given back, and carry on if there is one and a slot is free.
            if _fresh_waiting(channel_id) and _take_slot(conn, key):
                continue
            return done
        conn.expire(key, DRAIN_KEY_TTL)
        message_id, prepared = claimed
        if prepared is None:
            continue  # refused before sending (window, channel): already marked failed
        while not ratelimit.wait_for_slot(prepared.ig_account_id, prepared.bucket):
            conn.expire(key, DRAIN_KEY_TTL)  # the account is busy: this drain owns the reply, it waits
        _deliver(message_id, prepared)
        done += 1


def _fresh(channel_id: int):
    return (select(Message).where(Message.channel_id == channel_id, Message.status == "queued",
                                  Message.direction == "out", Message.send_attempts == 0)
            .order_by(Message.id).limit(1))


def _claim_fresh(channel_id: int) -> tuple[int, Prepared | None] | None:
    with db.session_scope() as s:
        # PostgreSQL: concurrent drains take different rows. SQLite: BEGIN IMMEDIATE serialises them.
        message = s.scalar(_fresh(channel_id).with_for_update(skip_locked=True))
        if message is None:
            return None
        return message.id, _prepare_in(s, message)


def _fresh_waiting(channel_id: int) -> bool:
    with db.session_scope(write=False) as s:
        return s.scalar(_fresh(channel_id).with_only_columns(Message.id)) is not None


def _deliver(message_id: int, prepared: Prepared) -> None:
    try:
        result = GraphClient.from_app().post(f"{prepared.page_id}/messages", prepared.token, json=prepared.body)
    except GraphTimeout:
        _set(message_id, "unknown", "Unknown — check Instagram: Instagram did not answer in time, so Keloa cannot "
                                    "tell whether this reached the customer. Retry only if it is missing there.")
        return
    except GraphError as exc:  # GraphUnavailable included: it never reached Meta
        handle_error(message_id, exc, schedule_retry)
        return
    _record_sent(message_id, str(result.get("message_id") or ""))


def _prepare(message_id: int) -> Prepared | None:
    with db.session_scope() as s:
        message = s.get(Message, message_id, with_for_update=True)
        if message is None or message.status != "queued":
            return None  # already sent, failed, unknown, or taken by another run
        return _prepare_in(s, message)


def _prepare_in(s, message: Message) -> Prepared | None:
    """Move a queued reply to `sending` in this transaction, or fail it with the reason it cannot go."""
    conversation = s.get(Conversation, message.conversation_id)
    channel = s.get(Channel, message.channel_id)
    problem = outbox.channel_problem(channel, conversation)
    if problem:
        _fail(s, message, problem)
        return None
    decision = window.for_conversation(conversation, outbox.sender_of(message.author_type))
    if not decision.allowed:
        if message.author_type == "ai":
            conversation.needs_human = True
        _fail(s, message, decision.reason)
        return None
    token = decrypt(channel.page_token_enc)
    if not token:
        needs_reconnect(s, channel, "Keloa can no longer read this account's access token.")
        _fail(s, message, f"{channel.label} needs reconnecting (Integrations) before replies can go out.")
        return None
    message.tag = decision.tag  # the window may have moved while the message waited
    message.status = "sending"  # shown as "Sending…" like `queued`: no change to announce yet
    message.send_attempts += 1
    contact = s.get(Contact, conversation.contact_id)
    return Prepared(channel.page_id, token, _body(message, contact.igsid), channel.ig_account_id,
                    ratelimit.bucket_for(message.kind))


def _body(message: Message, igsid: str) -> dict:
    body: dict = {"recipient": {"id": igsid}}
    if message.tag:
        body.update(messaging_type="MESSAGE_TAG", tag=message.tag)
    else:
        body["messaging_type"] = "RESPONSE"
    if message.kind != "text" and message.attachments:  # a reply is text or one attachment
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
                message.status, message.error = "sent", None
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
    message.status, message.error = "failed", reason
    changes.touch(s, message.conversation_id)


@job("sends", timeout=60)
def mark_seen(conversation_id: int) -> None:
    """Tell Instagram the business has seen the customer's latest message (once per message)."""
    with db.session_scope(write=False) as s:
        conversation = s.get(Conversation, conversation_id)
        if conversation is None:
            return
        channel = s.get(Channel, conversation.channel_id)
        mid = latest_customer_mid(s, conversation_id)
        if not (channel and channel.read_receipts and channel.can_send and mid) or mid == conversation.last_marked_seen_mid:
            return
        token = decrypt(channel.page_token_enc)
        igsid = s.get(Contact, conversation.contact_id).igsid
        page_id, channel_id = channel.page_id, channel.id
    if not token:
        return
    try:
        GraphClient.from_app().post(f"{page_id}/messages", token,
                                    json={"recipient": {"id": igsid}, "sender_action": "mark_seen"})
    except GraphError as exc:
        if exc.token_invalid:
            with db.session_scope() as s:
                needs_reconnect(s, s.get(Channel, channel_id), f"Instagram refused the access token: {exc.message}")
            return
        raise  # kept in RQ's failed registry; a later open of the conversation tries again
    with db.session_scope() as s:
        s.get(Conversation, conversation_id).last_marked_seen_mid = mid


def typing(conversation_id: int, on: bool) -> bool:
    """Show (or stop showing) "typing…" to the customer while the AI composes, if the channel
    can send; best effort: a refusal never stops the answer. True if Meta accepted it."""
    with db.session_scope(write=False) as s:
        conversation = s.get(Conversation, conversation_id)
        channel = s.get(Channel, conversation.channel_id) if conversation else None
        if not (channel and channel.can_send):
            return False
        token, page_id = decrypt(channel.page_token_enc), channel.page_id
        igsid = s.get(Contact, conversation.contact_id).igsid
    if not token:
        return False
    try:
        GraphClient.from_app().post(f"{page_id}/messages", token, json={
            "recipient": {"id": igsid}, "sender_action": "typing_on" if on else "typing_off"})
    except GraphError as exc:
        log.info("typing indicator for conversation %s not shown: %s", conversation_id, exc)
        return False
    return True


def latest_customer_mid(s, conversation_id: int) -> str | None:
    return s.scalar(
        select(Message.mid).where(Message.conversation_id == conversation_id, Message.direction == "in",
                                  Message.mid.is_not(None))
        .order_by(Message.sent_at.desc(), Message.id.desc()).limit(1))


def enqueue_mark_seen(conversation: Conversation, channel: Channel, mid: str | None) -> bool:
    """Queue one mark_seen if the toggle is on and this customer message was not marked yet."""
    if not (channel.read_receipts and channel.can_send and mid) or mid == conversation.last_marked_seen_mid:
        return False
    job_id = f"mark-seen-{conversation.id}-{hashlib.sha1(mid.encode()).hexdigest()[:16]}"
    try:
        mark_seen.enqueue(conversation.id, job_id=job_id, unique=True)
    except DuplicateJobError:
        return False
    return True



STRANDED_AFTER = timedelta(minutes=10)


@periodic(60)
def settle_stranded_sends() -> None:
    """A worker killed mid-send leaves a reply `sending` forever: after a while say what we know.

    It may or may not have reached Instagram, so it becomes `unknown` (never resent on its own).
    """
    cutoff = utcnow() - STRANDED_AFTER
    with db.session_scope() as s:
        stranded = s.scalars(select(Message).where(Message.status == "sending", Message.sent_at < cutoff)
                             .limit(200)).all()
        for message in stranded:
            message.status = "unknown"
            message.error = ("Unknown — check Instagram: Keloa lost track of this send (a worker stopped while "
                             "sending). Retry only if it is missing there.")
            changes.touch(s, message.conversation_id)


LOST_AFTER = timedelta(minutes=2)


@periodic(60)
def requeue_lost_sends() -> None:
    """A queued reply whose job is gone (Redis restarted without its data, or was emptied) would
    wait forever: queue it again. A reply waiting for a retry or a rate-limit slot has a scheduled
    job and is left alone; running a send twice sends once (see send_message)."""
    cutoff = utcnow() - LOST_AFTER
    with db.session_scope(write=False) as s:
        rows = s.execute(select(Message.id, Message.channel_id).where(
            Message.status == "queued", Message.direction == "out", Message.sent_at < cutoff).limit(500)).all()
    if not rows:
        return
    conn = get_redis()
    draining = {channel_id for channel_id in {r[1] for r in rows}
                if int(conn.get(_drains_key(channel_id)) or 0) > 0}  # a long burst still going out
    waiting = {message_id for message_id, channel_id in rows if channel_id not in draining}
    lost = waiting - _message_ids_with_jobs()
    for message_id in sorted(lost):
        log.warning("reply %s was queued but its job was gone; queueing it again", message_id)
        send_message.enqueue(message_id)


def _message_ids_with_jobs() -> set[int]:
    from rq.job import Job
    from rq.registry import ScheduledJobRegistry, StartedJobRegistry

    from keloa_web.queue import get_queue, get_redis

    queue = get_queue(send_message.queue_name)
    ids = set(queue.get_job_ids())
    for registry in (ScheduledJobRegistry(queue=queue), StartedJobRegistry(queue=queue)):
        ids.update(registry.get_job_ids())
    found = set()
    for job in Job.fetch_many(sorted(ids), connection=get_redis()):
        if job is not None and job.func_name.endswith(".send_message") and job.args:
            found.add(job.args[0])
    return found

