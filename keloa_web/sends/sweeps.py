"""Periodic repairs of sends (declared in keloa_web/jobs.py, SCHEDULE)."""
from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select

from keloa_web import changes
from keloa_web.db import db, utcnow
from keloa_web.jobs import get_queue, get_redis, send_drains_key
from keloa_web.models import Direction, Message, MessageStatus
from keloa_web.sends.deliver import send_message

log = logging.getLogger(__name__)


STRANDED_AFTER = timedelta(minutes=10)


def settle_stranded_sends() -> None:
    """A worker killed mid-send leaves a reply `sending` forever: after a while say what we know.

    It may or may not have reached Instagram, so it becomes `unknown` (never resent on its own).
    """
    cutoff = utcnow() - STRANDED_AFTER
    with db.session_scope() as s:
        stranded = s.scalars(select(Message).where(Message.status == MessageStatus.SENDING, Message.sent_at < cutoff)
                             .limit(200)).all()
        for message in stranded:
            message.status = MessageStatus.UNKNOWN
            message.error = ("Unknown — check Instagram: Keloa lost track of this send (a worker stopped while "
                             "sending). Retry only if it is missing there.")
            changes.touch(s, message.conversation_id)


LOST_AFTER = timedelta(minutes=2)


def requeue_lost_sends() -> None:
    """A queued reply whose job is gone (Redis restarted without its data, or was emptied) would
    wait forever: queue it again. A reply waiting for a retry or a rate-limit slot has a scheduled
    job and is left alone; running a send twice sends once (see send_message)."""
    cutoff = utcnow() - LOST_AFTER
    with db.session_scope(write=False) as s:
        rows = s.execute(select(Message.id, Message.channel_id).where(
            Message.status == MessageStatus.QUEUED, Message.direction == Direction.OUT, Message.sent_at < cutoff,
        ).limit(500)).all()
    if not rows:
        return
    conn = get_redis()
    draining = {channel_id for channel_id in {r[1] for r in rows}
                if int(conn.get(send_drains_key(channel_id)) or 0) > 0}  # a long burst still going out
    waiting = {message_id for message_id, channel_id in rows if channel_id not in draining}
    lost = waiting - _message_ids_with_jobs()
    for message_id in sorted(lost):
        log.warning("reply %s was queued but its job was gone; queueing it again", message_id)
        send_message.enqueue(message_id)


def _message_ids_with_jobs() -> set[int]:
    from rq.job import Job
    from rq.registry import ScheduledJobRegistry, StartedJobRegistry

    queue = get_queue(send_message.queue_name)
    ids = set(queue.get_job_ids())
    for registry in (ScheduledJobRegistry(queue=queue), StartedJobRegistry(queue=queue)):
        ids.update(registry.get_job_ids())
    found = set()
    for job in Job.fetch_many(sorted(ids), connection=get_redis()):
        if job is not None and job.func_name.endswith(".send_message") and job.args:
            found.add(job.args[0])
    return found
