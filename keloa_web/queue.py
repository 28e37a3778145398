"""Redis connection, RQ queues named for their work, and the one `@job` decorator."""
from __future__ import annotations

import functools
from typing import Callable

import redis
from flask import current_app
from rq import Queue, Retry

QUEUES = ("webhooks", "sends", "ai", "default")
FAILURE_TTL = 7 * 24 * 3600


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

        def enqueue_in(delay_seconds: float, *args, job_id: str | None = None, **kwargs):
            from datetime import timedelta

            return get_queue(queue).enqueue_in(
                timedelta(seconds=delay_seconds), fn, *args, job_id=job_id, job_timeout=timeout,
                retry=retry, result_ttl=result_ttl, failure_ttl=FAILURE_TTL, **kwargs,
            )

        functools.update_wrapper(enqueue, fn)
        fn.enqueue = enqueue
        fn.enqueue_in = enqueue_in
        fn.queue_name = queue
        return fn

    return decorate
