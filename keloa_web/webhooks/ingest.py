"""Coalesced ingest: one drain job applies every pending webhook event, in batches.

Intake stores the raw body, then sets the `jobs.INGEST_PENDING` flag (NX); only when that flag was newly set
does it enqueue a drain job. The drain first deletes the flag (so a later event queues another
drain), then claims batches of pending events in one transaction each, applies them (one SAVEPOINT
per event, so one bad event cannot poison the batch), marks them done and commits. A worker killed
mid-batch rolls the whole batch back: nothing is lost and nothing is applied twice. RQ's per-job
overhead is paid once per burst, not once per event (see ../shared/MEASURED.md).
"""
from __future__ import annotations

import json
import logging
from datetime import timedelta

import redis
from sqlalchemy import or_, select

from keloa_web import changes, jobs
from keloa_web.db import db, utcnow
from keloa_web.models import Channel, Conversation, EventStatus, WebhookEvent
from keloa_web.jobs import enqueue_once, get_redis, job
from keloa_web.inbox import assignment
from keloa_web.webhooks.apply import Effects, Router, Unprocessable, apply_body
from keloa_web.webhooks.lookup import Lookup, ids_in

log = logging.getLogger(__name__)

FLAG = jobs.INGEST_PENDING
FLAG_TTL = 30  # seconds; a flag whose drain job was lost stops blocking new drains after this
BATCH_SIZE = 200
MAX_ATTEMPTS = 5
SWEEP_AFTER = timedelta(seconds=3)


def request_drain(force: bool = False) -> bool:
    """Make sure a drain job will run; returns True if this call enqueued one. Raises RedisError."""
    conn = get_redis()
    if conn.set(FLAG, 1, nx=not force, ex=FLAG_TTL) or force:
        drain_webhook_events.enqueue()
        return True
    return False


@job("webhooks", timeout=900)
def drain_webhook_events() -> int:
    """Apply pending webhook events until none is left; returns how many were processed."""
    try:
        get_redis().delete(FLAG)
    except redis.RedisError:
        log.warning("could not clear the ingest flag; draining anyway")
    total = 0
    while True:
        claimed = drain_batch()
        total += claimed
        if claimed == 0:
            return total


def drain_batch(limit: int = BATCH_SIZE) -> int:
    """Claim, apply and commit one batch; act on its side effects after the commit."""
    now = utcnow()
    with db.session_scope() as session:
        query = (select(WebhookEvent)
                 .where(WebhookEvent.status == EventStatus.PENDING,
                        or_(WebhookEvent.next_attempt_at.is_(None), WebhookEvent.next_attempt_at <= now))
                 .order_by(WebhookEvent.id).limit(limit))
        # PostgreSQL: concurrent drains take different rows. SQLite: BEGIN IMMEDIATE serialises them.
        events = session.scalars(query.with_for_update(skip_locked=True)).all()
        if not events:
            return 0
        try:
            # Fast path: the whole batch at once. Any error rolls back to here and the batch is
            # applied again one SAVEPOINT per event, so only the faulty event is held back.
            with session.begin_nested():
                batch = _apply_all(session, events, isolate=False)
        except Exception as exc:
            log.info("batch of %s events retried one by one after %s: %s", len(events), type(exc).__name__, exc)
            batch = _apply_all(session, events, isolate=True)
        for channel_id in batch.channels:
            session.get(Channel, channel_id).last_webhook_at = now
        session.flush()  # ids for the rows created in this batch
        new_ids = set()
        for conv in batch.new_conversations:
            if conv.last_customer_message_at is not None:  # a customer wrote (not only an echo)
                assignment.on_new_conversation(session, conv)
                new_ids.add(conv.id)
        _notify(session, batch, new_ids)
        session.flush()
        for conversation_id in sorted({conv.id for conv in batch.touched}):
            changes.touch(session, conversation_id)
        batch.profiles |= {contact.id for contact in batch.new_contacts}
    _after_commit(batch)
    return len(events)


def _notify(session, batch: Effects, new_ids: set[int]) -> None:
    """Tell the team: a new conversation to everyone who sees its account, a customer's message in
    an assigned one to its assignee (once per conversation and batch, with the newest message)."""
    from keloa_web.describe import describe
    from keloa_web.notifications import notify

    newest: dict[int, object] = {}
    for m in batch.customer_messages:
        if m.conversation_id not in newest or m.sent_at >= newest[m.conversation_id].sent_at:
            newest[m.conversation_id] = m
    for conv_id, m in newest.items():
        conv = session.get(Conversation, conv_id)
        if conv is None:
            continue
        if conv_id in new_ids:
            notify.new_conversation(session, conv, describe(m))
        else:
            notify.customer_message(session, conv, describe(m))


def _apply_all(session, events: list[WebhookEvent], isolate: bool) -> Effects:
    router, lookup, batch = Router(session), Lookup(session), Effects()
    bodies, mids, people = {}, set(), set()
    for event in events:
        try:
            bodies[event.id] = json.loads(event.body)
        except ValueError as exc:
            bodies[event.id] = Unprocessable(f"The body is not valid JSON: {exc}")
            continue
        except RecursionError:
            bodies[event.id] = Unprocessable("The body is nested too deeply to be one of Meta's events.")
            continue
        more_mids, more_people = ids_in(bodies[event.id])
        mids |= more_mids
        people |= more_people
    lookup.prefetch(router.channel_ids, mids, people)
    for event in events:
        fx = Effects()
        try:
            if isinstance(bodies[event.id], Exception):
                raise bodies[event.id]
            if isolate:
                with session.begin_nested():
                    apply_body(lookup, router, bodies[event.id], event.received_at, fx)
            else:
                apply_body(lookup, router, bodies[event.id], event.received_at, fx)
        except Unprocessable as exc:
            event.attempts += 1
            event.status, event.error, event.processed_at = EventStatus.FAILED, str(exc), utcnow()
            continue
        except Exception as exc:  # recorded on the event; retried with back-off, then marked failed
            if not isolate:
                raise
            lookup.clear()  # objects from the rolled-back SAVEPOINT are gone
            _failed_attempt(event, exc)
            continue
        ignored = fx.applied == 0 and bool(fx.notes)
        event.status, event.processed_at, event.next_attempt_at = (EventStatus.IGNORED if ignored else EventStatus.DONE), utcnow(), None
        event.error = " ".join(fx.notes)[:2000] or None
        batch.merge(fx)
    if not isolate:
        session.flush()  # constraint errors surface here, inside the fast path's SAVEPOINT
    return batch


def _failed_attempt(event: WebhookEvent, exc: Exception) -> None:
    log.warning("webhook event %s failed (attempt %s): %s", event.id, event.attempts + 1, exc)
    event.attempts += 1
    event.error = f"{type(exc).__name__}: {exc}"[:2000]
    if event.attempts >= MAX_ATTEMPTS:
        event.status, event.processed_at = EventStatus.FAILED, utcnow()
    else:
        event.next_attempt_at = utcnow() + timedelta(seconds=2 ** event.attempts)


def _after_commit(batch: Effects) -> None:
    """Network work and listeners, once the rows are safely committed."""
    from keloa_web.media import storage
    from keloa_web.media.jobs import fetch_media
    from keloa_web.webhooks.edits import fetch_edited_text
    from keloa_web.webhooks.profiles import fetch_profile

    for path in batch.files:
        storage.delete(path)
    try:
        for att in batch.attachments:
            enqueue_once(fetch_media, att.id, job_id=f"media-{att.id}")
        for contact_id in sorted(batch.profiles):
            enqueue_once(fetch_profile, contact_id, job_id=f"profile-{contact_id}")
        for m in batch.edits:
            fetch_edited_text.enqueue(m.id)
    except redis.RedisError:
        log.warning("could not queue media/profile jobs; the periodic sweeps retry them")
    # One call per conversation and batch, for its newest new message: a burst of customer
    # messages gets one turn (listeners look at the whole conversation), and the drain stays fast.
    newest: dict[int, object] = {}
    for m in batch.customer_messages:
        if m.conversation_id not in newest or m.sent_at >= newest[m.conversation_id].sent_at:
            newest[m.conversation_id] = m
    for m in newest.values():
        try:
            jobs.emit("customer_message", message_id=m.id, conversation_id=m.conversation_id, channel_id=m.channel_id)
        except Exception:  # one listener's failure must not cost the other messages their turn
            log.exception("customer_message listener failed for message %s", m.id)


def stale_pending_exists(session) -> bool:
    cutoff = utcnow() - SWEEP_AFTER
    return session.scalar(
        select(WebhookEvent.id).where(
            WebhookEvent.status == EventStatus.PENDING, WebhookEvent.received_at <= cutoff,
            or_(WebhookEvent.next_attempt_at.is_(None), WebhookEvent.next_attempt_at <= utcnow()))
        .limit(1)) is not None


def sweep_pending_events() -> None:
    """Events stored while Redis was down, retried ones, or ones whose drain job was lost."""
    with db.session_scope(write=False) as session:
        if not stale_pending_exists(session):
            return
    request_drain()
