"""Meta's webhook callback: the verification handshake and the signed event intake.

Intake stays a single INSERT (store.py) plus a wake-up for the drain (notify.py): Meta counts an answer
slower than 5 s as a failure and unsubscribes the Page after an hour of them. Parsing and every
other write happen in the drain job (ingest.py).
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging

from flask import Blueprint, current_app, request

from keloa_web.auth import public
from keloa_web.db import utcnow
from keloa_web.models import EventStatus
from keloa_web.security import csrf
from keloa_web.webhooks.notify import notifier
from keloa_web.webhooks.store import store_event

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
    header = request.headers.get("X-Hub-Signature-256")
    # Facebook Login's app and Instagram Login's app each sign with their own secret; both are
    # the operator's, and the drain routes every entry by its account id.
    secrets = (current_app.config["META_APP_SECRET"], current_app.config.get("INSTAGRAM_APP_SECRET"))
    if not any(signature_ok(body, header, secret) for secret in secrets if secret):
        return "Invalid signature.", 403, _TEXT
    status, error, object_type = EventStatus.PENDING, None, None
    try:
        parsed = json.loads(body)
    except ValueError as exc:
        # Stored for inspection, answered 200 so that Meta does not retry it forever.
        status, error = EventStatus.FAILED, f"The body is not valid JSON: {exc}"
    except RecursionError:  # nested deeper than Python's parser goes: no event of Meta's is
        status, error = EventStatus.FAILED, "The body is nested too deeply to be one of Meta's events."
    else:
        obj = parsed.get("object") if isinstance(parsed, dict) else None
        object_type = obj[:32] if isinstance(obj, str) else None
    store_event(utcnow(), body, object_type, status, error)
    if status == EventStatus.PENDING:
        notifier(current_app._get_current_object()).notify()  # after the commit, never before
    return "EVENT_RECEIVED", 200, _TEXT
