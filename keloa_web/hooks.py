"""In-process events between areas, so that ingest need not know who reacts to a new message.

    @hooks.on("customer_message")
    def _maybe_answer(message_id: int, conversation_id: int) -> None: ...

    hooks.emit("customer_message", message_id=..., conversation_id=...)  # after the commit

Events: `customer_message` (ingest, after a new inbound message is committed).
Listeners run in the emitting process and should only enqueue jobs; their modules are imported
through keloa_web/jobs/__init__.py.
"""
from __future__ import annotations

import logging
from collections import defaultdict
from typing import Callable

log = logging.getLogger(__name__)
_listeners: dict[str, list[Callable[..., None]]] = defaultdict(list)


def on(event: str):
    def register(fn: Callable[..., None]) -> Callable[..., None]:
        _listeners[event].append(fn)
        return fn

    return register


def emit(event: str, **payload) -> None:
    for fn in _listeners[event]:
        fn(**payload)
