"""Meta's deauthorize callback: a person removed the app from their Business integrations, so
their channels need a reconnect. The signed request is checked by `signed_requests.accept`."""
from __future__ import annotations

import logging

from flask import Blueprint, jsonify, request
from sqlalchemy import select

from keloa_web.auth import public
from keloa_web.db import db
from keloa_web.integrations.channels import mark_needs_reconnect
from keloa_web.integrations.signed_requests import accept, forget
from keloa_web.models import Channel
from keloa_web.security import csrf

log = logging.getLogger(__name__)
bp = Blueprint("meta_deauth", __name__)


@bp.post("/webhooks/meta/deauthorize")
@public
@csrf.exempt
def deauthorize():
    signed_request = request.form.get("signed_request", "")
    payload, refusal = accept(signed_request, "deauth")
    if refusal is not None:
        return refusal
    user_id = str(payload["user_id"])
    try:
        ids = db.session.scalars(select(Channel.id).where(Channel.meta_user_id == user_id)).all()
        changed = [cid for cid in ids if mark_needs_reconnect(
            db.session, cid, "The Meta account that connected this channel removed Keloa from its Business "
                             "integrations.")]
        db.session.commit()
    except Exception:
        forget(signed_request, "deauth")  # not applied: Meta's retry of the same request must still work
        raise
    log.info("Deauthorize for Meta user %s: %d channel(s) need reconnect", user_id, len(changed))
    return jsonify({"ok": True, "channels": len(changed)})
