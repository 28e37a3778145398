"""The wake-up call: a transaction that touched the change feed or wrote a notification publishes
one message on Redis after it commits; every web process listens (one thread each) and wakes its
open streams. A lost message costs at most one heartbeat (streams also look every HEARTBEAT s)."""
from __future__ import annotations

import logging
import os
import threading

import redis
from sqlalchemy import event
from sqlalchemy.orm import Session

CHANNEL = "keloa:live"
log = logging.getLogger(__name__)


def mark(session: Session) -> None:
    """This transaction has news for open tabs: publish when (and only if) it commits."""
    session.info["keloa_live"] = True


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    if session.info.pop("keloa_live", False):
        publish()


@event.listens_for(Session, "after_rollback")
def _rolled_back(session: Session) -> None:
    session.info.pop("keloa_live", None)


def publish() -> None:
    try:
        from keloa_web.jobs import get_redis

        get_redis().publish(CHANNEL, "1")
    except (redis.RedisError, RuntimeError) as exc:  # no Redis, or no app: the streams' heartbeat catches up
        log.debug("live wake-up not published: %s", exc)


class Wakeups:
    """One subscriber thread per process; streams wait on its condition for the next message."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._generation = 0
        self._pid: int | None = None
        self._url: str | None = None

    def start(self, redis_url: str) -> None:
        with self._cond:
            if self._pid == os.getpid():
                return
            self._pid, self._url = os.getpid(), redis_url  # (a forked worker starts its own)
            threading.Thread(target=self._listen, name="keloa-live", daemon=True).start()

    def _listen(self) -> None:
        import time

        while True:
            try:
                conn = redis.Redis.from_url(self._url, socket_connect_timeout=2, health_check_interval=30)
                pubsub = conn.pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(CHANNEL)
                for _message in pubsub.listen():
                    self.wake()
            except redis.RedisError as exc:
                log.warning("live stream listener lost Redis (%s); retrying", exc)
                self.wake()  # let the streams look for themselves meanwhile
                time.sleep(1)

    def wake(self) -> None:
        with self._cond:
            self._generation += 1
            self._cond.notify_all()

    def wait(self, seen: int, timeout: float) -> int:
        """Block until a wake-up after generation `seen` (or `timeout`); the generation now."""
        with self._cond:
            self._cond.wait_for(lambda: self._generation != seen, timeout)
            return self._generation

    @property
    def generation(self) -> int:
        return self._generation


wakeups = Wakeups()
