"""Meta's data deletion callback and its public status page, and "Delete this contact's data".

Meta's "Data Deletion Request Callback": when a person asks Meta to delete what an app holds about
them, Meta POSTs `signed_request` (signed like the deauthorize callback, with the person's
app-scoped `user_id`); the app deletes it and answers `{"url": <status page>, "confirmation_code":
<code>}`, and the person can follow the URL to see that it was done.
"""
from __future__ import annotations

import logging
import secrets

from flask import Blueprint, abort, current_app, flash, jsonify, render_template, request
from flask_login import current_user
from sqlalchemy import select

from keloa_web import access
from keloa_web.auth import admin_required, public
from keloa_web.db import db, utcnow
from keloa_web.integrations import signed_requests
from keloa_web.models import Contact, DataDeletion
from keloa_web.privacy.erase import erase_contact, erase_meta_user, remove_files

log = logging.getLogger(__name__)
bp = Blueprint("privacy", __name__)


@bp.post("/webhooks/meta/data-deletion")
@signed_requests.callback("deletion")
def data_deletion_callback(user_id: str):
    user_id = user_id[:64]
    request_row = DataDeletion(confirmation_code=secrets.token_hex(8), meta_user_id=user_id)
    db.session.add(request_row)
    request_row.channels = erase_meta_user(db.session, user_id)
    contacts = db.session.scalars(select(Contact).where(Contact.igsid == user_id)).all()
    for contact in contacts:
        erase_contact(db.session, contact, by="Meta's data deletion request")
    request_row.contacts = len(contacts)
    request_row.completed_at, request_row.meta_user_id = utcnow(), None
    db.session.commit()
    remove_files(db.session)
    log.info("Data deletion %s: %d channel(s), %d contact(s)", request_row.confirmation_code,
             request_row.channels, request_row.contacts)
    return jsonify({"url": f"{current_app.config['PUBLIC_BASE_URL']}/data-deletion/{request_row.confirmation_code}",
                    "confirmation_code": request_row.confirmation_code})


@bp.get("/data-deletion/<code>")
@public
def deletion_status(code: str):
    row = db.session.scalar(select(DataDeletion).where(DataDeletion.confirmation_code == code[:32]))
    if row is None:
        abort(404)
    return render_template("privacy/status.html", row=row)


@bp.post("/inbox/c/<int:conv_id>/erase")
@admin_required
def contact_erase(conv_id: int):
    from keloa_web.inbox.actions import _pane

    conv = access.conversation_or_404(db.session, current_user.id, conv_id)
    if request.form.get("confirm") != "1":
        return _pane(conv, status=422, erase_error="Tick “Yes, delete it” first: this cannot be undone.")
    count = erase_contact(db.session, conv.contact, by=current_user.name)
    db.session.commit()
    remove_files(db.session)
    flash(f"Deleted this customer's data: {count} message{'' if count == 1 else 's'}, their media and profile.",
          "success")
    return _pane(conv)
