"""Meta's signed requests (the deauthorize and data deletion callbacks): `<sig>.<payload>`, both
base64url without padding; sig is the HMAC-SHA256 of the encoded payload keyed with the app secret.

The signature is checked before the payload is parsed. A signed request is accepted once, within
MAX_AGE of its `issued_at` (and no more than MAX_SKEW ahead of this clock): a copy of an old one,
or the same one sent again, does nothing. Requests seen are remembered in Redis until they expire.
"""
from __future__ import annotations

import base64
import contextlib
import functools
import hashlib
import hmac
import json
import logging
import time

from flask import current_app, jsonify, request
from redis import RedisError

from keloa_web.jobs import get_redis, signed_request_seen_key

log = logging.getLogger(__name__)
MAX_AGE = 600  # seconds after issued_at
MAX_SKEW = 60  # seconds ahead of this clock
MAX_LENGTH = 8192  # Meta's are a few hundred characters


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def parse_signed_request(signed_request: str, app_secret: str) -> dict | None:
    """The payload if the signature is valid and the algorithm is HMAC-SHA256, else None."""
    if len(signed_request) > MAX_LENGTH:
        return None
    try:
        sig_b64, payload_b64 = signed_request.split(".", 1)
        sig = _b64decode(sig_b64)
    except (ValueError, TypeError):
        return None
    expected = hmac.new(app_secret.encode(), payload_b64.encode(), hashlib.sha256).digest()
    if not hmac.compare_digest(sig, expected):
        return None  # nothing unsigned is parsed
    try:
        payload = json.loads(_b64decode(payload_b64))
    except (ValueError, TypeError, RecursionError):  # RecursionError: JSON nested too deep
        return None
    if not isinstance(payload, dict) or str(payload.get("algorithm", "")).upper() != "HMAC-SHA256":
        return None
    return payload


def is_fresh(payload: dict, now: float | None = None) -> bool:
    """Issued within the last MAX_AGE seconds (and not more than MAX_SKEW ahead)."""
    issued_at = payload.get("issued_at")
    if isinstance(issued_at, bool) or not isinstance(issued_at, (int, float)):
        return False
    now = time.time() if now is None else now
    return now - MAX_AGE <= issued_at <= now + MAX_SKEW


def _seen_key(signed_request: str, kind: str) -> str:
    return signed_request_seen_key(kind, hashlib.sha256(signed_request.encode()).hexdigest())


def refuse(error: str, status: int = 400):
    log.warning("Signed request refused: %s", error)
    return jsonify({"error": error}), status


def accept(signed_request: str, kind: str):
    """(payload, None) for a valid, fresh request seen for the first time; else (None, answer)."""
    # Facebook Login's app or Instagram Login's app (its user_id is then the app-scoped id /me gave)
    secrets = [current_app.config.get(n) for n in ("META_APP_SECRET", "INSTAGRAM_APP_SECRET")]
    payload = next((p for p in (parse_signed_request(signed_request, s) for s in secrets if s) if p), None)
    if payload is None or not payload.get("user_id"):
        return None, refuse("invalid signed_request")
    if not is_fresh(payload):
        return None, refuse("signed_request expired: its issued_at is not within the last 10 minutes")
    try:
        first = get_redis().set(_seen_key(signed_request, kind), "1", nx=True, ex=MAX_AGE + MAX_SKEW)
    except RedisError:
        return None, refuse("cannot check for replays right now (Redis is unavailable); try again", 503)
    if not first:
        return None, refuse("signed_request already used")
    return payload, None


def forget(signed_request: str, kind: str) -> None:
    """The request was not applied after all: let Meta's retry of it through."""
    with contextlib.suppress(RedisError):
        get_redis().delete(_seen_key(signed_request, kind))


def callback(kind: str):
    """A view for one of Meta's signed-request callbacks (deauthorize, data deletion).

    Public and without CSRF (Meta signs the request instead); the view runs only for a valid, fresh
    request seen for the first time, and gets the person's app-scoped user id. If the view fails,
    the request is forgotten, so that Meta's retry of it is applied instead of refused as a replay.
    """
    from keloa_web.auth import public
    from keloa_web.security import csrf

    def decorate(view):
        @functools.wraps(view)
        def wrapped():
            signed_request = request.form.get("signed_request", "")
            payload, refusal = accept(signed_request, kind)
            if refusal is not None:
                return refusal
            try:
                return view(str(payload["user_id"]))
            except Exception:
                forget(signed_request, kind)
                raise

        return public(csrf.exempt(wrapped))

    return decorate
