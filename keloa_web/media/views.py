"""Serving stored media: attachments and profile pictures to signed-in users, and signed public
links (`/m/<token>`, see storage.public_url) for files Meta fetches when Keloa sends them."""
from __future__ import annotations

import mimetypes

from flask import Blueprint, abort, send_file

from keloa_web.auth import public
from keloa_web.db import db
from keloa_web.media import storage
from keloa_web.models import Attachment, Contact

bp = Blueprint("media", __name__)

_INLINE = ("image/", "video/", "audio/")


def _send(relative: str | None, content_type: str | None, name: str, private: bool = True):
    if not relative:
        abort(404)
    try:
        path = storage.resolve(relative)
    except ValueError:
        abort(404)
    if not path.is_file():
        abort(404)
    content_type = content_type or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    inline = content_type.startswith(_INLINE) and content_type != "image/svg+xml"
    resp = send_file(path, mimetype=content_type, as_attachment=not inline,
                     download_name=f"{name}{storage.extension(content_type)}", conditional=True,
                     max_age=3600)
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Cache-Control"] = ("private" if private else "public") + ", max-age=3600"
    return resp


@bp.get("/media/<int:attachment_id>")
def attachment_show(attachment_id: int):
    att = db.session.get(Attachment, attachment_id) or abort(404)
    if att.status != "stored" or att.message.deleted:
        abort(404)
    return _send(att.local_path, att.content_type, f"keloa-{att.type}-{att.id}")


@bp.get("/media/contacts/<int:contact_id>/picture")
def contact_picture(contact_id: int):
    contact = db.session.get(Contact, contact_id) or abort(404)
    return _send(contact.picture_path, None, f"keloa-contact-{contact.id}")


@bp.get("/m/<token>")
@public
def media_public(token: str):
    """A file Keloa sends: Meta downloads it from here while the signed link is valid."""
    relative = storage.read_public_token(token)
    if relative is None:
        abort(404)
    return _send(relative, None, "keloa-media", private=False)
