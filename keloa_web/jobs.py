"""Coordination: every queue, job, dedupe rule, Redis key, event listener and periodic task of Keloa.

The database holds the truth; Redis only says "there is work". So any job may run twice, any
enqueue may be lost, and a periodic task below finds what was lost and queues it again. How the
three flows move through this module (drawn in docs/architecture.md):

  A webhook becomes a message
    webhooks/views.py checks the signature and stores the raw body (webhooks/store.py, a row in
    `webhook_events`), then wakes a thread of its process (webhooks/notify.py), which calls
    `ingest.request_drain()`: it sets INGEST_PENDING, so the first event of a burst queues one
    `drain_webhook_events` (queue "webhooks") and the rest ride along.
    webhooks/ingest.py claims pending rows in batches and turns each into contacts, conversations
    and messages (webhooks/apply.py, handlers.py), then queues `fetch_media` and `fetch_profile`
    once each (`enqueue_once`) and emits "customer_message" once per conversation and batch, for
    its newest customer message.
    Who retries: not RQ but the event's row: a failing event gets `next_attempt_at` with backoff
    (2, 4, 8, 16 s), then `failed` after five attempts (the Events page, /admin/events, retries it);
    `sweep_pending_events` below queues a drain for events stored while Redis was down, retried
    ones, and ones whose drain job was lost (once the 30 s INGEST_PENDING flag has expired).

  A reply goes out
    inbox/actions.py stores the reply as `queued`, then `sends.drains.request_sends()`: a slot
    counter (SEND_DRAINS) lets up to SEND_DRAINS_PER_ACCOUNT `send_fresh` drains per account
    take the oldest fresh replies; sends/deliver.py checks the window again and calls the Send API
    at the account's pace (SEND_RATE token bucket). Who retries: Meta's transient refusals
    schedule `send_message` (sends/failures.py); `requeue_lost_sends` queues a reply whose job is
    gone; `settle_stranded_sends` turns a send a dead worker left `sending` into `unknown`. If Redis
    is down when the reply is stored, the reply is `failed` at once with Retry (sends/outbox.py):
    the teammate knows it did not leave.

  An AI turn
    "customer_message" reaches `agents.jobs.queue_reply`, which queues `reply_to_message` once for
    that message (job id `ai-<message id>`, after AI_REPLY_DELAY_SECONDS); the job answers or hands the
    conversation to a person, and its reply goes out as above. Who retries: `requeue_lost_turns`.

Jobs are plain functions taking ids, marked `@job(queue)`; `fn.enqueue(...)` queues one.
"""
from __future__ import annotations

import functools
import logging
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from importlib import import_module
from typing import Callable

import redis
from flask import current_app
from rq import Queue, Retry
from rq.exceptions import DuplicateJobError

log = logging.getLogger(__name__)

QUEUES = ("webhooks", "sends", "ai", "default")  # a worker serves them in this order
FAILURE_TTL = 7 * 24 * 3600  # a failed job stays in RQ's failed registry for a week


# -- Redis keys: every name Keloa writes, besides RQ's own ------------------------------------------

INGEST_PENDING = "keloa:ingest:pending"  # set NX by intake: a drain job is queued (webhooks/ingest.py)


def send_drains_key(channel_id: int) -> str:
    """How many send drains are queued or running for this channel (sends/drains.py)."""
    return f"keloa:sends:drains:{channel_id}"


def send_rate_key(ig_account_id: str, kind: str) -> str:
    """The account's Send API token bucket for text or media (sends/ratelimit.py)."""
    return f"keloa:sendrate:{ig_account_id}:{kind}"


def conversations_rate_key(ig_account_id: str) -> str:
    """The account's Conversations API slot, 2 calls/s (integrations/ratelimit.py)."""
    return f"keloa:rate:conversations:{ig_account_id}"


def meta_login_key(key: str) -> str:
    """A Facebook Login in progress: the Pages to pick from, for a few minutes (integrations/meta.py)."""
    return f"keloa:meta_login:{key}"


def signed_request_seen_key(kind: str, digest: str) -> str:
    """A signed request from Meta already handled, so a replay is refused (integrations/signed_requests.py)."""
    return f"keloa:{kind}_seen:{digest}"


# -- Connection, queues and the @job decorator --------------------------------------------------------

def get_redis(app=None) -> redis.Redis:
    app = app or current_app
    conn = app.extensions.get("keloa_redis")
    if conn is None:
        conn = redis.Redis.from_url(
            app.config["REDIS_URL"], socket_connect_timeout=1, socket_timeout=5, health_check_interval=30
        )
        app.extensions["keloa_redis"] = conn
    return conn


def get_queue(name: str, app=None) -> Queue:
    return Queue(name, connection=get_redis(app))


def job(queue: str, *, timeout: int = 180, retry: Retry | None = None, result_ttl: int = 0):
    """Mark a plain function (taking ids) as an RQ job; call `fn.enqueue(...)` to queue it.

    Job bodies run inside the worker's app context (see worker.py) and let exceptions
    propagate so that RQ retries them and keeps the last failure in its failed registry.
    """
    if queue not in QUEUES:
        raise ValueError(f"unknown queue {queue!r}")

    def decorate(fn: Callable) -> Callable:
        def enqueue(*args, job_id: str | None = None, unique: bool = False, at_front: bool = False, **kwargs):
            return get_queue(queue).enqueue(
                fn, *args, job_id=job_id, unique=unique, at_front=at_front, job_timeout=timeout,
                retry=retry, result_ttl=result_ttl, failure_ttl=FAILURE_TTL, **kwargs,
            )

        def enqueue_in(delay_seconds: float, *args, job_id: str | None = None, unique: bool = False, **kwargs):
            return get_queue(queue).enqueue_in(
                timedelta(seconds=delay_seconds), fn, *args, job_id=job_id, unique=unique, job_timeout=timeout,
                retry=retry, result_ttl=result_ttl, failure_ttl=FAILURE_TTL, **kwargs,
            )

        functools.update_wrapper(enqueue, fn)
        fn.enqueue = enqueue
        fn.enqueue_in = enqueue_in
        fn.queue_name = queue
        return fn

    return decorate


def enqueue_once(fn: Callable, *args, job_id: str, delay: float = 0) -> bool:
    """Queue `fn(*args)` under `job_id` unless a job of that id is queued, scheduled, running, or
    kept (finished within its result_ttl, or failed and kept for inspection). True if queued now.

    Raises RedisError: callers whose work is stored in the database let a periodic task catch up.
    """
    try:
        if delay > 0:
            fn.enqueue_in(delay, *args, job_id=job_id, unique=True)
        else:
            fn.enqueue(*args, job_id=job_id, unique=True)
    except DuplicateJobError:
        return False
    return True


def job_exists(job_id: str) -> bool:
    """A job of this id is queued, scheduled, running, or kept (see `enqueue_once`)."""
    from rq.job import Job

    return Job.exists(job_id, connection=get_redis())


# -- In-process events: who reacts when something happens ----------------------------------------------

LISTENERS: dict[str, tuple[str, ...]] = {
    # ingest, after a new inbound message is committed (once per conversation and batch)
    "customer_message": ("keloa_web.agents.jobs:queue_reply",),
    # the outbox, when a teammate's text reply is added (in the caller's transaction)
    "teammate_reply": ("keloa_web.agents.gaps:note_correction",),
}


def emit(event: str, **payload) -> None:
    """Call each listener of `event` in this process. Listeners enqueue jobs or add rows to the
    caller's session; they never wait on the network."""
    for fn in _resolve(LISTENERS[event]):
        fn(**payload)


@functools.cache
def _resolve(paths: tuple[str, ...]) -> tuple[Callable, ...]:
    return tuple(_function(path) for path in paths)


def _function(path: str) -> Callable:
    module, _, name = path.partition(":")
    return getattr(import_module(module), name)


# -- Periodic tasks: each is idempotent, and every worker process runs them -----------------------------

@dataclass(frozen=True)
class Periodic:
    every: float  # seconds
    task: str  # "module:function"
    why: str


SCHEDULE: tuple[Periodic, ...] = (
    Periodic(1, "keloa_web.housekeeping:checkpoint_sqlite_wal",
             "copy SQLite's WAL into the database file off the web processes' path"),
    Periodic(2, "keloa_web.webhooks.ingest:sweep_pending_events",
             "events stored while Redis was down, retried ones, or ones whose drain job was lost"),
    Periodic(60, "keloa_web.media.jobs:sweep_pending_media",
             "attachments whose download job was never queued"),
    Periodic(300, "keloa_web.webhooks.profiles:sweep_unfetched_profiles",
             "contacts whose profile lookup was never queued"),
    Periodic(60, "keloa_web.sends.sweeps:settle_stranded_sends",
             "a reply a dead worker left `sending` becomes `unknown` (never resent on its own)"),
    Periodic(60, "keloa_web.sends.sweeps:requeue_lost_sends",
             "a queued reply whose job is gone is queued again"),
    Periodic(60, "keloa_web.agents.jobs:requeue_lost_turns",
             "a customer message whose AI turn was never queued"),
    Periodic(60, "keloa_web.inbox.snooze:wake_snoozed",
             "snoozed conversations whose time has come go back to Open, with a note"),
    Periodic(60, "keloa_web.notifications.digest:send_digests",
             "notifications nobody saw in a tab go out by email, one digest per few minutes"),
    Periodic(60, "keloa_web.mail:sweep_unsent",
             "emails whose sending job was never queued"),
    Periodic(3600, "keloa_web.integrations.tokens:refresh_tokens",
             "Instagram Login tokens renewed a week after they were issued (they last 60 days)"),
    Periodic(3600, "keloa_web.accounts.jobs:purge_hourly",
             "expired invites, old sign-in attempts and ended sessions"),
    Periodic(86400, "keloa_web.operations.retention:daily_purge",
             "conversations or media older than each account's retention setting (and at each worker start)"),
)


def start_schedule(app, stop: threading.Event, schedule: tuple[Periodic, ...] = SCHEDULE) -> threading.Thread:
    """Run the periodic tasks in a thread of this worker, inside the app context, until `stop`."""
    tasks = [(p.every, _function(p.task)) for p in schedule]  # a wrong name fails at start, not later

    def loop() -> None:
        last: dict[Callable, float] = {}
        while not stop.is_set():
            now = time.monotonic()
            for every, fn in tasks:
                if now - last.get(fn, 0) >= every:
                    last[fn] = now
                    try:
                        with app.app_context():
                            fn()
                    except Exception:  # keep sweeping; the next round tries again
                        log.exception("periodic task %s failed", fn.__name__)
            stop.wait(0.5)

    thread = threading.Thread(target=loop, name="keloa-schedule", daemon=True)
    thread.start()
    return thread
