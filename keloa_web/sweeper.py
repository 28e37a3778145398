"""Periodic housekeeping run by every worker process (e.g. re-queue events stored while Redis was down).

Areas register a function with `@periodic(seconds)`; worker.py runs them in a thread inside the
app context. Each must be idempotent: several workers run them.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Callable

log = logging.getLogger(__name__)
_TASKS: list[tuple[float, Callable[[], None]]] = []


def periodic(seconds: float):
    def register(fn: Callable[[], None]) -> Callable[[], None]:
        _TASKS.append((seconds, fn))
        return fn

    return register


def start(app, stop: threading.Event) -> threading.Thread:
    def loop() -> None:
        last: dict[Callable, float] = {}
        while not stop.is_set():
            now = time.monotonic()
            for seconds, fn in list(_TASKS):
                if now - last.get(fn, 0) >= seconds:
                    last[fn] = now
                    try:
                        with app.app_context():
                            fn()
                    except Exception:  # keep sweeping; the next round tries again
                        log.exception("periodic task %s failed", fn.__name__)
            stop.wait(0.5)

    thread = threading.Thread(target=loop, name="keloa-sweeper", daemon=True)
    thread.start()
    return thread
