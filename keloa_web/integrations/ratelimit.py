"""Meta's Conversations API allows 2 calls per second per Instagram account: one call per slot.

The slot is a Redis key set with NX and an expiry, so every process (web, each worker) shares it
without any coordinator. Slots are 10% longer than 1/rate: requests leave a little after their slot
starts and arrive with jitter, and Meta counts arrivals.
"""
from __future__ import annotations

import time

from keloa_web.jobs import conversations_rate_key, get_redis

CONVERSATIONS_PER_SECOND = 2


def wait_turn(ig_account_id: str, per_second: int = CONVERSATIONS_PER_SECOND, timeout: float = 30.0) -> None:
    conn = get_redis()
    key = conversations_rate_key(ig_account_id)
    slot_ms = max(1, int(1100 / per_second))
    deadline = time.monotonic() + timeout
    while not conn.set(key, 1, nx=True, px=slot_ms):
        if time.monotonic() > deadline:
            raise TimeoutError(f"no Conversations API slot for {ig_account_id} in {timeout:g} s")
        wait_ms = conn.pttl(key)
        time.sleep(max(wait_ms, 5) / 1000 if wait_ms and wait_ms > 0 else 0.01)
