"""Saved replies: the page where teammates keep them (the team's, managed by admins, and each
one's own), and the JSON the composer's "/" picker reads, placeholders filled for the conversation.

The picker's answer carries a customer's name (`{{first_name}}`), so it is JSON the page's script
puts into the composer as text, never HTML for htmx to swap.
"""
from __future__ import annotations

from flask import Blueprint, abort, flash, jsonify, request
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import func, or_, select
from wtforms import BooleanField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Regexp

from keloa_web import access
from keloa_web.db import db
from keloa_web.htmx import render_page
from keloa_web.inbox import uploads
from keloa_web.media import storage
from keloa_web.models import Channel, Contact, SavedReply
from keloa_web.replies.fill import PLACEHOLDERS, fill, unknown
from keloa_web.sends.outbox import TEXT_MAX_BYTES

bp = Blueprint("replies", __name__, url_prefix="/replies")
PICKER_SHOWN = 8


class ReplyForm(FlaskForm):
    name = StringField("Name (typed after /)", validators=[
        DataRequired("Give it a short name, such as shipping."), Length(max=40, message="Up to 40 characters."),
        Regexp(r"^[a-z0-9][a-z0-9-]*$", message="Lowercase letters, digits and dashes only, such as shipping-eu.")])
    text = TextAreaField("Text", validators=[DataRequired("Write the reply's text.")])
    team = BooleanField("For the whole team (admins only)")
    file_error: str | None = None  # the chosen file's problem (not a WTForms field: see _take_file)

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        text = self.text.data or ""
        if text and (bad := unknown(text)):
            self.text.errors.append("Keloa does not fill " + ", ".join(f"{{{{{b}}}}}" for b in bad) + ": use "
                                    + ", ".join(f"{{{{{p}}}}}" for p in PLACEHOLDERS) + ".")
            ok = False
        # Placeholders may grow when filled; a reply already over Instagram's limit can never be sent.
        if len(text.encode()) > TEXT_MAX_BYTES:
            self.text.errors.append(f"Instagram takes up to {TEXT_MAX_BYTES} bytes in a message: this is "
                                    f"{len(text.encode())}.")
            ok = False
        return ok


def _take_file(form: ReplyForm) -> tuple[uploads.Upload | None, str | None, bool]:
    """(the checked file chosen, its name, valid): a file Instagram would refuse is said beside the
    file field (`form.file_error`); the rest of the form is kept."""
    chosen = request.files.get("file")
    try:
        return uploads.read_upload(chosen), (chosen.filename or "")[:120] if chosen else None, True
    except uploads.UploadError as exc:
        form.file_error = str(exc)
        return None, None, False


def _attach(reply: SavedReply, upload: uploads.Upload | None, name: str | None) -> None:
    """Store `upload` as the reply's file (replacing any), or remove it when `upload` is None."""
    old = reply.file_path
    if upload is not None:
        reply.file_path = storage.save(upload.data, upload.content_type, folder="saved-replies")
        reply.file_type, reply.file_content_type, reply.file_size = upload.kind, upload.content_type, len(upload.data)
        reply.file_name = name or None
    else:
        reply.file_path = reply.file_type = reply.file_content_type = reply.file_size = reply.file_name = None
    if old:
        storage.delete(old)


def visible():
    """The saved replies the signed-in teammate may use: the team's and their own."""
    return select(SavedReply).where(or_(SavedReply.owner_id.is_(None), SavedReply.owner_id == current_user.id))


def _page(form: ReplyForm | None = None, status: int = 200, editing: int | None = None,
          editing_form: ReplyForm | None = None):
    rows = db.session.scalars(visible().order_by(SavedReply.owner_id.is_not(None), SavedReply.name)).all()
    return render_page("replies/index.html", block="replies_body", status=status, rows=rows,
                       form=form or ReplyForm(formdata=None), placeholders=PLACEHOLDERS, editing=editing,
                       editing_form=editing_form, limit=TEXT_MAX_BYTES, accept=uploads.ACCEPT,
                       accepted=uploads.ACCEPTED_WORDS)


def _may_change(reply: SavedReply) -> bool:
    return reply.owner_id == current_user.id or (reply.owner_id is None and current_user.is_admin)


def _taken(name: str, owner_id: int | None, but: int | None = None) -> bool:
    stmt = select(SavedReply.id).where(SavedReply.name == name, SavedReply.owner_id.is_(None) if owner_id is None
                                       else SavedReply.owner_id == owner_id)
    if but is not None:
        stmt = stmt.where(SavedReply.id != but)
    return db.session.scalar(stmt.limit(1)) is not None


def _owner(form: ReplyForm) -> tuple[int | None, bool]:
    """(owner id, allowed): a team reply needs an admin."""
    if form.team.data:
        if not current_user.is_admin:
            form.team.errors.append("Only admins add replies for the whole team; untick it to keep it as yours.")
            return None, False
        return None, True
    return current_user.id, True


@bp.get("/")
def index():
    return _page()


@bp.post("/")
def create():
    form = ReplyForm()
    valid = form.validate_on_submit()
    owner_id, allowed = _owner(form)
    if valid and allowed and _taken(form.name.data, owner_id):
        form.name.errors.append(f"/{form.name.data} already exists: choose another name or edit that one.")
        valid = False
    upload, file_name, file_ok = _take_file(form)
    if not (valid and allowed and file_ok):
        return _page(form, status=400)
    reply = SavedReply(name=form.name.data, text=form.text.data.strip(), owner_id=owner_id)
    if upload is not None:
        _attach(reply, upload, file_name)
    db.session.add(reply)
    db.session.commit()
    flash(f"Saved /{form.name.data}. Type /{form.name.data} in a reply to insert it.", "success")
    return _page()


def _reply(reply_id: int) -> SavedReply:
    reply = db.session.get(SavedReply, reply_id)
    if reply is None or (reply.owner_id is not None and reply.owner_id != current_user.id):
        abort(404)
    if not _may_change(reply):
        abort(403)
    return reply


@bp.post("/<int:reply_id>")
def update(reply_id: int):
    reply = _reply(reply_id)
    form = ReplyForm()
    form.team.data = reply.owner_id is None  # where a reply belongs does not change by editing it
    valid = form.validate_on_submit()
    if valid and _taken(form.name.data, reply.owner_id, but=reply.id):
        form.name.errors.append(f"/{form.name.data} already exists: choose another name.")
        valid = False
    upload, file_name, file_ok = _take_file(form)
    if not (valid and file_ok):
        flash(f"/{reply.name} was not changed: correct the fields marked below.", "error")
        return _page(status=400, editing=reply.id, editing_form=form)
    reply.name, reply.text = form.name.data, form.text.data.strip()
    if upload is not None or (request.form.get("remove_file") == "1" and reply.file_path):
        _attach(reply, upload, file_name)
    db.session.commit()
    flash(f"Saved /{reply.name}.", "success")
    return _page()


@bp.post("/<int:reply_id>/delete")
def delete(reply_id: int):
    reply = _reply(reply_id)
    path = reply.file_path
    db.session.delete(reply)
    db.session.commit()
    storage.delete(path)
    flash(f"Deleted /{reply.name}.", "info")
    return _page()


@bp.get("/for/<int:conv_id>")
def for_conversation(conv_id: int):
    """The picker's choices for `q` (what follows "/"), filled for this conversation: JSON."""
    conv = access.conversation_or_404(db.session, current_user.id, conv_id)
    q = request.args.get("q", "")[:40].lower()
    stmt = visible()
    if q:
        stmt = stmt.where(or_(SavedReply.name.startswith(q, autoescape=True),
                              func.lower(SavedReply.text).contains(q, autoescape=True)))
    rows = db.session.scalars(stmt.order_by(SavedReply.name.startswith(q, autoescape=True).desc(), SavedReply.name)
                              .limit(PICKER_SHOWN)).all()
    contact, channel = db.session.get(Contact, conv.contact_id), db.session.get(Channel, conv.channel_id)
    choices = []
    for row in rows:
        text = fill(row.text, contact, channel, current_user)
        choices.append({"name": row.name, "text": text, "team": row.owner_id is None,
                        "too_long": len(text.encode()) > TEXT_MAX_BYTES,
                        "file": {"id": row.id, "label": row.file_label} if row.file_path else None})
    resp = jsonify(choices=choices)
    resp.headers["Cache-Control"] = "no-store"
    return resp
