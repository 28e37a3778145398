"""Intake's hand-off to the drain job, off the request's path.

Each web process keeps one small thread that asks for a drain (`request_drain`: a Redis SETNX and,
rarely, an enqueue) after intake has committed a row. A request only sets an Event, so Redis' round
trip is not part of the answer Meta waits for, and a burst of webhooks in one process costs one
SETNX per 50 ms instead of one per request. The order that makes this safe is unchanged: the row is committed
before the Event is set, and the thread clears the Event before it asks for a drain, so every
committed row is followed by a drain request. If Redis is down, or the process dies in between, the
periodic `sweep_pending_events` (keloa_web/jobs.py, SCHEDULE) queues a drain for rows pending more
than a few seconds, so nothing is lost.
"""
from __future__ import annotations

import atexit
import logging
import os
import threading
import time

import redis

log = logging.getLogger(__name__)

IDLE_EXIT = 60.0  # seconds without webhooks before the thread ends (the next webhook starts it again)
GATHER = 0.05  # after a wake-up, let the burst's other requests land: one SETNX covers them all


class DrainNotifier:
    def __init__(self, app) -> None:
        self.app = app
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._running_in: int | None = None  # pid whose thread is running (threads do not survive fork)

    def notify(self) -> None:
        self._wake.set()
        with self._lock:
            if self._running_in != os.getpid():
                self._running_in = os.getpid()
                threading.Thread(target=self._run, name="keloa-drain-notifier", daemon=True).start()

    def flush(self) -> None:
        """Ask for a drain now if a notification is pending (at process exit)."""
        if self._wake.is_set():
            self._wake.clear()
            self._request()

    def _run(self) -> None:
        while True:
            if not self._wake.wait(IDLE_EXIT):
                with self._lock:
                    if not self._wake.is_set():  # checked under the lock notify() takes: no lost wake-up
                        self._running_in = None
                        return
                continue
            time.sleep(GATHER)
            self._wake.clear()
            self._request()

    def _request(self) -> None:
        from keloa_web.webhooks.ingest import request_drain

        try:
            with self.app.app_context():
                request_drain()
        except redis.RedisError as exc:
            log.warning("Redis unavailable after intake (events kept; the periodic sweep will queue them): %s", exc)
        except Exception:  # never let the thread die on a surprise; the periodic sweep is the safety net
            log.exception("could not request a drain after intake")


def notifier(app) -> DrainNotifier:
    found = app.extensions.get("keloa_drain_notifier")
    if found is None:
        found = app.extensions.setdefault("keloa_drain_notifier", DrainNotifier(app))
        atexit.register(found.flush)
    return found
