"""Serving stored media: attachments and profile pictures to signed-in users, and signed public
links (`/m/<token>`, see storage.public_url) for files Meta fetches when Keloa sends them."""
from __future__ import annotations

from flask import Blueprint, abort, make_response, request, send_file
from flask_login import current_user

from keloa_web import access
from keloa_web.auth import public
from keloa_web.db import db
from keloa_web.htmx import is_htmx
from keloa_web.media import sniff, storage
from keloa_web.models import Attachment, AttachmentStatus, Contact

bp = Blueprint("media", __name__)

# A stored file opened on its own is a sandboxed document with an opaque origin: no script, no
# plugin, no form, no request to Keloa with the teammate's cookies, even if a browser were to
# render it as a page. Images, video and audio may load themselves, nothing else.
MEDIA_CSP = "sandbox; default-src 'none'; img-src 'self'; media-src 'self'"


def _send(relative: str | None, stored_type: str | None, name: str, private: bool = True):
    if is_htmx():  # (and the answer says it varies on HX-Request, for caches)
        # htmx never gets a customer's bytes (a stale page's boosted link, say): the browser is
        # told to navigate there itself, and then downloads or shows the file on its own.
        resp = make_response("")
        resp.headers["HX-Redirect"] = request.full_path.rstrip("?")
        return resp
    if not relative:
        abort(404)
    try:
        path = storage.resolve(relative)
    except ValueError:
        abort(404)
    if not path.is_file():
        abort(404)
    with path.open("rb") as fh:
        head = fh.read(64)
    content_type, inline = sniff.serving(stored_type, head)
    resp = send_file(path, mimetype=content_type, as_attachment=not inline,
                     download_name=f"{name}{storage.extension(content_type)}", conditional=True,
                     max_age=3600)
    resp.headers["Content-Security-Policy"] = MEDIA_CSP
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Cross-Origin-Resource-Policy"] = "same-origin" if private else "cross-origin"
    resp.headers["Cache-Control"] = ("private" if private else "public") + ", max-age=3600"
    return resp


@bp.get("/media/<int:attachment_id>")
def attachment_show(attachment_id: int):
    att = db.session.get(Attachment, attachment_id) or abort(404)
    if att.status != AttachmentStatus.STORED or att.message.deleted:
        abort(404)
    if not access.may_see_channel(db.session, current_user.id, att.message.channel_id):
        abort(404)
    return _send(att.local_path, att.content_type, f"keloa-{att.type}-{att.id}")


@bp.get("/media/contacts/<int:contact_id>/picture")
def contact_picture(contact_id: int):
    contact = db.session.get(Contact, contact_id) or abort(404)
    if not access.may_see_channel(db.session, current_user.id, contact.channel_id):
        abort(404)
    return _send(contact.picture_path, None, f"keloa-contact-{contact.id}")


@bp.get("/m/<token>")
@public
def media_public(token: str):
    """A file Keloa sends: Meta downloads it from here while the signed link is valid."""
    relative = storage.read_public_token(token)
    if relative is None:
        abort(404)
    return _send(relative, None, "keloa-media", private=False)
