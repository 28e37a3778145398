"""Fresh replies go out through a few drain jobs per account instead of one RQ job each.

RQ's own bookkeeping (about 23 Redis commands per job, counted) cost more CPU than the send itself,
and a burst of replies paid it once per reply. Up to SEND_DRAINS_PER_ACCOUNT drains run at once per
account, so Graph's latency still overlaps; each claims the account's oldest fresh reply (never
tried: retries keep their own scheduled `send_message`), sends it at the account's pace, and goes
on until none is left. A drain holds a worker while it works: keep workers above accounts x drains.
The counter in Redis (`jobs.send_drains_key`) says how many drains are queued or running.
"""
from __future__ import annotations

from flask import current_app
from sqlalchemy import select

from keloa_web.db import db
from keloa_web.jobs import get_redis, job, send_drains_key
from keloa_web.models import Direction, Message, MessageStatus
from keloa_web.sends import ratelimit
from keloa_web.sends.deliver import Prepared, deliver, prepare_in

DRAIN_KEY_TTL = 120  # seconds; refreshed while drains work, so a crashed drain's slot comes back


def request_sends(channel_id: int) -> None:
    """A fresh reply of this account was committed: make sure a drain will send it. Raises RedisError."""
    conn, key = get_redis(), send_drains_key(channel_id)
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
    conn, key = get_redis(), send_drains_key(channel_id)
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
        deliver(message_id, prepared)
        done += 1


def _fresh(channel_id: int):
    return (select(Message).where(Message.channel_id == channel_id, Message.status == MessageStatus.QUEUED,
                                  Message.direction == Direction.OUT, Message.send_attempts == 0)
            .order_by(Message.id).limit(1))


def _claim_fresh(channel_id: int) -> tuple[int, Prepared | None] | None:
    with db.session_scope() as s:
        # PostgreSQL: concurrent drains take different rows. SQLite: BEGIN IMMEDIATE serialises them.
        message = s.scalar(_fresh(channel_id).with_for_update(skip_locked=True))
        if message is None:
            return None
        return message.id, prepare_in(s, message)


def _fresh_waiting(channel_id: int) -> bool:
    with db.session_scope(write=False) as s:
        return s.scalar(_fresh(channel_id).with_only_columns(Message.id)) is not None
