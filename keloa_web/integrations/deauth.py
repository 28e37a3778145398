"""Meta's deauthorize callback: a person removed the app from their Business integrations, so
their channels need a reconnect. The signed request is checked by `signed_requests.callback`."""
from __future__ import annotations

import logging

from flask import Blueprint, jsonify
from sqlalchemy import select

from keloa_web.db import db
from keloa_web.integrations import signed_requests
from keloa_web.integrations.channels import mark_needs_reconnect
from keloa_web.models import Channel

log = logging.getLogger(__name__)
bp = Blueprint("meta_deauth", __name__)


@bp.post("/webhooks/meta/deauthorize")
@signed_requests.callback("deauth")
def deauthorize(user_id: str):
    ids = db.session.scalars(select(Channel.id).where(Channel.meta_user_id == user_id)).all()
    changed = [cid for cid in ids if mark_needs_reconnect(
        db.session, cid, "The Meta account that connected this channel removed Keloa from its Business "
                         "integrations.")]
    db.session.commit()
    log.info("Deauthorize for Meta user %s: %d channel(s) need reconnect", user_id, len(changed))
    return jsonify({"ok": True, "channels": len(changed)})
