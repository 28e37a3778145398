"""Meta's webhook callback: the verification handshake and the signed event intake.

Intake stays a single INSERT plus one Redis SETNX (and rarely an enqueue): Meta counts an answer
slower than 5 s as a failure and unsubscribes the Page after an hour of them. Parsing and every
other write happen in the drain job (ingest.py).
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging

import redis
from flask import Blueprint, current_app, request
from sqlalchemy import insert

from keloa_web.auth import public
from keloa_web.db import db, utcnow
from keloa_web.models import WebhookEvent
from keloa_web.security import csrf
from keloa_web.webhooks.ingest import request_drain

log = logging.getLogger(__name__)
bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")

_TEXT = {"Content-Type": "text/plain; charset=utf-8"}



@bp.get("/instagram")
@public
def instagram_verify():
    """Meta's subscription handshake: echo hub.challenge only for our verify token."""
    args = request.args
    token = args.get("hub.verify_token") or args.get("hub_verify_token") or ""
    mode = args.get("hub.mode") or args.get("hub_mode")
    expected = current_app.config["META_VERIFY_TOKEN"] or ""
    if mode == "subscribe" and expected and hmac.compare_digest(token.encode(), expected.encode()):
        challenge = args.get("hub.challenge") or args.get("hub_challenge") or ""
        return challenge, 200, _TEXT
    return "Verification failed: the verify token does not match META_VERIFY_TOKEN.", 403, _TEXT


def signature_ok(body: bytes, header: str | None, secret: str) -> bool:
    if not header or not secret or not header.startswith("sha256="):
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(header[7:].strip().lower().encode(), expected.encode())


def _read_capped(limit: int) -> bytes | None:
    """The raw body, or None once it passes `limit` (a missing Content-Length is no way around it)."""
    chunks, size = [], 0
    while True:
        chunk = request.stream.read(min(65536, limit + 1 - size))
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            return None


@bp.post("/instagram")
@public
@csrf.exempt
def instagram_receive():
    limit = current_app.config["WEBHOOK_MAX_BYTES"]
    if request.content_length is not None and request.content_length > limit:
        return "Too large.", 413, _TEXT
    body = _read_capped(limit)
    if body is None:
        return "Too large.", 413, _TEXT
    if not signature_ok(body, request.headers.get("X-Hub-Signature-256"), current_app.config["META_APP_SECRET"]):
        return "Invalid signature.", 403, _TEXT
    row = {"body": body, "status": "pending", "attempts": 0, "received_at": utcnow(), "object_type": None}
    try:
        parsed = json.loads(body)
    except ValueError as exc:
        # Stored for inspection, answered 200 so that Meta does not retry it forever.
        row.update(status="failed", error=f"The body is not valid JSON: {exc}")
    else:
        obj = parsed.get("object") if isinstance(parsed, dict) else None
        row["object_type"] = obj[:32] if isinstance(obj, str) else None
    # One Core INSERT on the hot path: no ORM unit of work for a row nobody reads back here.
    event_id = db.session.execute(insert(WebhookEvent).values(**row).returning(WebhookEvent.id)).scalar_one()
    db.session.commit()
    if row["status"] == "pending":
        try:
            request_drain()
        except redis.RedisError as exc:
            log.warning("Redis unavailable at intake (event %s kept; the sweeper will queue it): %s", event_id, exc)
    return "EVENT_RECEIVED", 200, _TEXT
