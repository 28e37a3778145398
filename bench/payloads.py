"""Signed webhook bodies shaped like Meta's (ASCII-escaped unicode, escaped slashes)."""
from __future__ import annotations

import hashlib
import hmac
import json
import time

IG_ACCOUNT = "17841400000000101"
TEXTS = ["Hi! Do you ship to Lisbon? 📦", "Is the oat latte vegan?", "Olá, ainda têm o bolo de cenoura?",
         "Can I book a table for 4 tonight at 8?", "Thanks, see you soon 🙌", "What are your opening hours on Sunday?"]


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def meta_json(payload: dict) -> bytes:
    return json.dumps(payload, ensure_ascii=True, separators=(",", ":")).replace("/", "\\/").encode()


def text_event(sender: str, mid: str, text: str, ts_ms: int, account: str = IG_ACCOUNT) -> dict:
    return {"sender": {"id": sender}, "recipient": {"id": account}, "timestamp": ts_ms,
            "message": {"mid": mid, "text": text}}


def body(events: list[dict], account: str = IG_ACCOUNT) -> bytes:
    now = int(time.time() * 1000)
    return meta_json({"object": "instagram", "entry": [{"time": now, "id": account, "messaging": events}]})


def text_bodies(secret: str, n: int, customers: int = 500, account: str = IG_ACCOUNT, prefix: str = "bench") -> list[tuple[bytes, str]]:
    """`n` one-message deliveries from `customers` different people, each with its own mid."""
    now = int(time.time() * 1000) - n
    out = []
    for i in range(n):
        sender = str(900000000000000 + i % customers)
        raw = body([text_event(sender, f"aWdfZAG1f{prefix}{i:09d}", TEXTS[i % len(TEXTS)], now + i, account)], account)
        out.append((raw, sign(secret, raw)))
    return out
