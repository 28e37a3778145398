"""A per-Instagram-account token bucket in Redis, shared by every worker, so Keloa stays under
Meta's Send API limits (100 calls/s for text, 10/s for audio and video, per IG account)."""
from __future__ import annotations

import time

REQUEUE_SECONDS = 2.0  # a job waits in-process for short gaps, and is re-queued for longer ones

from flask import current_app

from keloa_web.jobs import get_redis, send_rate_key
from keloa_web.models import MessageKind

# KEYS[1] bucket hash; ARGV: rate per second, capacity, now (s). Returns seconds to wait (0 = go).
_TAKE = """
local rate, cap, now = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens, ts = tonumber(b[1]) or cap, tonumber(b[2]) or now
tokens = math.min(cap, tokens + math.max(0, now - ts) * rate)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = (1 - tokens) / rate end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('EXPIRE', KEYS[1], 60)
return tostring(wait)
"""


def rate_for(kind: str, config=None) -> int:
    config = config if config is not None else current_app.config
    if kind == "media":
        return max(1, int(config["SEND_MEDIA_RATE_PER_SECOND"]))
    return max(1, int(config["SEND_RATE_PER_SECOND"]))


def burst_for(rate: int) -> int:
    """Slots an idle account may use at once. Any one-second window then holds at most rate + burst
    calls (90 + 4 text, 9 + 1 media with the defaults: under Meta's 100 and 10). Without a burst, two
    workers sending for one account at the same instant wait for each other while another account's
    replies queue up behind them."""
    return max(1, rate // 20)


def take(ig_account_id: str, kind: str = "text") -> float:
    """Take one send slot for this account; returns 0.0, or the seconds to wait before trying again."""
    rate = rate_for(kind)
    script = get_redis().register_script(_TAKE)
    wait = script(keys=[send_rate_key(ig_account_id, kind)], args=[rate, burst_for(rate), f"{time.time():.6f}"])
    return float(wait)


def wait_for_slot(ig_account_id: str, kind: str, patience: float = REQUEUE_SECONDS) -> bool:
    """Take a slot, sleeping through short waits; False if the account stays busy past `patience`."""
    deadline = time.monotonic() + patience
    while (wait := take(ig_account_id, kind)) > 0:
        if time.monotonic() + wait > deadline:
            return False
        time.sleep(wait)
    return True


def bucket_for(message_kind: str) -> str:
    """Meta counts audio and video against the lower media limit."""
    return "media" if message_kind in (MessageKind.VIDEO, MessageKind.AUDIO) else "text"
