"""Meta's deauthorize callback: a person removed the app from their Business integrations.

Meta POSTs `signed_request=<sig>.<payload>`, both base64url without padding; sig is the
HMAC-SHA256 of the encoded payload keyed with the app secret. Their channels need a reconnect.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging

from flask import Blueprint, current_app, jsonify, request
from sqlalchemy import select

from keloa_web.auth import public
from keloa_web.db import db
from keloa_web.integrations.channels import mark_needs_reconnect
from keloa_web.models import Channel
from keloa_web.security import csrf

log = logging.getLogger(__name__)
bp = Blueprint("meta_deauth", __name__)


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def parse_signed_request(signed_request: str, app_secret: str) -> dict | None:
    """The payload if the signature is valid and the algorithm is HMAC-SHA256, else None."""
    try:
        sig_b64, payload_b64 = signed_request.split(".", 1)
        sig = _b64decode(sig_b64)
        payload = json.loads(_b64decode(payload_b64))
    except (ValueError, TypeError):
        return None
    expected = hmac.new(app_secret.encode(), payload_b64.encode(), hashlib.sha256).digest()
    if not isinstance(payload, dict) or not hmac.compare_digest(sig, expected):
        return None
    if str(payload.get("algorithm", "")).upper() != "HMAC-SHA256":
        return None
    return payload


@bp.post("/webhooks/meta/deauthorize")
@public
@csrf.exempt
def deauthorize():
    payload = parse_signed_request(request.form.get("signed_request", ""), current_app.config["META_APP_SECRET"])
    if payload is None or not payload.get("user_id"):
        log.warning("Deauthorize callback with a bad signed_request ignored")
        return jsonify({"error": "invalid signed_request"}), 400
    user_id = str(payload["user_id"])
    ids = db.session.scalars(select(Channel.id).where(Channel.meta_user_id == user_id)).all()
    changed = [cid for cid in ids if mark_needs_reconnect(
        db.session, cid, "The Meta account that connected this channel removed Keloa from its Business "
                         "integrations.")]
    db.session.commit()
    log.info("Deauthorize for Meta user %s: %d channel(s) need reconnect", user_id, len(changed))
    return jsonify({"ok": True, "channels": len(changed)})
