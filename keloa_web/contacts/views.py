"""The contact panel's routes: its own screen (the panel at phone widths), custom attributes and
notes about the contact. Each answers with the panel, a block of its page, errors in it."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import delete

from keloa_web import access
from keloa_web.contacts import panel
from keloa_web.db import db, utcnow
from keloa_web.htmx import is_htmx, render_page
from keloa_web.models import ContactNote, ContactValue, Conversation

bp = Blueprint("contacts", __name__)


def _render(conv: Conversation, status: int = 200, **extra):
    ctx = {"conv": conv, "panel": panel.load(db.session, conv, current_user.id), "panel_error": None,
           "panel_saved": None, "typed": {}, "note_draft": "", **extra}
    return render_page("contacts/contact.html", block="contact_panel", status=status, **ctx)


def _back(conv: Conversation, status: int = 200, **extra):
    if not is_htmx():  # a plain form post: back to the contact screen, the outcome as a flash
        flash(extra.get("panel_error") or extra.get("panel_saved") or "Saved.", "error" if extra.get("panel_error") else "success")
        return redirect(url_for("contacts.contact_show", conv_id=conv.id))
    return _render(conv, status, **extra)


@bp.get("/inbox/c/<int:conv_id>/contact")
def contact_show(conv_id: int):
    """The panel as a screen of its own (what "Contact" opens on a phone)."""
    return _render(access.conversation_or_404(db.session, current_user.id, conv_id))


@bp.post("/inbox/c/<int:conv_id>/contact/attributes")
def attributes_save(conv_id: int):
    conv = access.conversation_or_404(db.session, current_user.id, conv_id)
    typed = {f.id: request.form.get(f"field-{f.id}", "") for f in panel.fields(db.session)}
    cleaned, problems = {}, []
    for f in panel.fields(db.session):
        try:
            cleaned[f.id] = panel.clean(f, typed[f.id])
        except panel.FieldValueError as exc:
            problems.append((f.id, str(exc)))
    if problems:
        return _back(conv, 422, panel_error=" ".join(p for _, p in problems), typed=typed,
                     bad_fields={i for i, _ in problems})
    contact_id = conv.contact_id
    db.session.execute(delete(ContactValue).where(ContactValue.contact_id == contact_id))
    db.session.add_all([ContactValue(contact_id=contact_id, field_id=i, value=v) for i, v in cleaned.items() if v])
    db.session.commit()
    return _back(conv, panel_saved="Attributes saved.")


@bp.post("/inbox/c/<int:conv_id>/contact/notes")
def note_add(conv_id: int):
    conv = access.conversation_or_404(db.session, current_user.id, conv_id)
    text = (request.form.get("text") or "").replace("\r\n", "\n").strip()
    if not text:
        return _back(conv, 422, panel_error="Write the note first.", note_error=True)
    if len(text) > panel.NOTE_MAX:
        return _back(conv, 422, panel_error=f"A note holds up to {panel.NOTE_MAX:,} characters; this one has "
                                            f"{len(text):,}.", note_draft=text, note_error=True)
    db.session.add(ContactNote(contact_id=conv.contact_id, author_user_id=current_user.id, text=text,
                               created_at=utcnow()))
    db.session.commit()
    return _back(conv, panel_saved="Note added.", note_saved=True)


@bp.post("/inbox/c/<int:conv_id>/contact/notes/<int:note_id>/delete")
def note_delete(conv_id: int, note_id: int):
    conv = access.conversation_or_404(db.session, current_user.id, conv_id)
    note = db.session.get(ContactNote, note_id)
    if note is None or note.contact_id != conv.contact_id:
        abort(404)
    if note.author_user_id != current_user.id and not current_user.is_admin:
        return _back(conv, 403, panel_error="Only its author or an admin deletes a note.", note_error=True)
    db.session.delete(note)
    db.session.commit()
    return _back(conv, panel_saved="Note deleted.", note_saved=True)
