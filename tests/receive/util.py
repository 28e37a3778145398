"""Helpers for the receive tests: signed webhook posts, Meta's samples, channels by IG id."""
from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path

from sqlalchemy import func, select

from keloa_web.crypto import encrypt
from keloa_web.db import db
from keloa_web.models import Channel
from tests.conftest import APP_SECRET

SAMPLES = Path(__file__).resolve().parent.parent / "fixtures" / "meta_samples"


def sign(body: bytes, secret: str = APP_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def encode(payload) -> bytes:
    return payload if isinstance(payload, bytes) else json.dumps(payload, ensure_ascii=False).encode()


def post(client, payload, signature: str | None = "auto", **headers):
    """POST to the webhook like Meta: raw bytes, signed with the app secret."""
    body = encode(payload)
    if signature == "auto":
        signature = sign(body)
    if signature is not None:
        headers["X-Hub-Signature-256"] = signature
    headers.setdefault("Content-Type", "application/json")
    return client.post("/webhooks/instagram", data=body, csrf=False, headers=headers)


def sample(name_prefix: str) -> dict:
    (path,) = [p for p in SAMPLES.glob("*.json") if p.name.startswith(name_prefix)]
    return json.loads(path.read_text())["payload"]


def channel(ig_account_id: str, page_id: str | None = None, token: str | None = "page-token", **kw) -> Channel:
    with db.session_scope() as s:
        ch = Channel(ig_account_id=ig_account_id, page_id=page_id or f"page-{ig_account_id}", ig_username="keloa.coffee",
                     page_name="Keloa Coffee", page_token_enc=encrypt(token) if token else None, **kw)
        s.add(ch)
        s.flush()
        return ch


def count(model, *where) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def messaging(sender: str, recipient: str, ts: int, **event) -> dict:
    return {"sender": {"id": sender}, "recipient": {"id": recipient}, "timestamp": ts, **event}


def body(entry_id: str, *events: dict, time: int = 1_760_000_000_000) -> dict:
    return {"object": "instagram", "entry": [{"id": entry_id, "time": time, "messaging": list(events)}]}
