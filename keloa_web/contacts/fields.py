"""Custom attributes: the fields admins define for contacts (text, number, date, or a list of
choices); everyone fills them in from the contact panel (contacts/views.py)."""
from __future__ import annotations

from flask import Blueprint, abort, flash, request
from sqlalchemy import func, select

from keloa_web.auth import admin_required
from keloa_web.contacts.panel import fields
from keloa_web.db import db
from keloa_web.htmx import render_page
from keloa_web.models import ContactField, FieldKind

bp = Blueprint("contact_fields", __name__, url_prefix="/contact-fields")
KINDS = {FieldKind.TEXT: "Text", FieldKind.NUMBER: "Number", FieldKind.DATE: "Date", FieldKind.LIST: "List of choices"}
MAX_FIELDS = 30
MAX_OPTIONS = 30


def _page(status: int = 200, **extra):
    ctx = {"fields": fields(db.session), "kinds": KINDS, "error": None, "typed": {}, "editing": None, **extra}
    return render_page("contacts/fields.html", block="fields_body", status=status, **ctx)


def _read(but: int | None = None) -> tuple[dict, str | None]:
    """The form's field, cleaned, and what is wrong with it (None: nothing)."""
    name = " ".join((request.form.get("name") or "").split())
    kind = request.form.get("kind", "")
    options = [" ".join(line.split()) for line in (request.form.get("options") or "").splitlines()]
    options = list(dict.fromkeys(o for o in options if o))
    typed = {"name": name, "kind": kind, "options": "\n".join(options)}
    if not name:
        return typed, "Name the field, such as Shoe size or Customer since."
    if len(name) > 40:
        return typed, "A field's name has up to 40 characters."
    if kind not in KINDS:
        return typed, "Choose what kind of value the field holds."
    if kind == FieldKind.LIST and not options:
        return typed, "A list needs its choices: one per line."
    if len(options) > MAX_OPTIONS or any(len(o) > 60 for o in options):
        return typed, f"Up to {MAX_OPTIONS} choices of up to 60 characters each."
    taken = select(ContactField.id).where(func.lower(ContactField.name) == name.lower())
    if db.session.scalar(taken if but is None else taken.where(ContactField.id != but)) is not None:
        return typed, f"A field \u201c{name}\u201d already exists."
    return typed, None


@bp.get("/")
@admin_required
def index():
    return _page()


@bp.post("/")
@admin_required
def create():
    typed, error = _read()
    if error is None and len(fields(db.session)) >= MAX_FIELDS:
        error = f"Up to {MAX_FIELDS} fields: delete one first."
    if error:
        return _page(422, error=error, typed=typed)
    position = (db.session.scalar(select(func.max(ContactField.position))) or 0) + 1
    db.session.add(ContactField(name=typed["name"], kind=typed["kind"], position=position,
                                options=typed["options"].split("\n") if typed["kind"] == FieldKind.LIST else None))
    db.session.commit()
    flash(f"Added the field \u201c{typed['name']}\u201d: it shows in every contact's panel.", "success")
    return _page()


@bp.post("/<int:field_id>")
@admin_required
def update(field_id: int):
    field = db.session.get(ContactField, field_id) or abort(404)
    typed, error = _read(but=field.id)
    if error:
        return _page(422, error=error, typed=typed, editing=field.id)
    field.name, field.kind = typed["name"], typed["kind"]
    field.options = typed["options"].split("\n") if typed["kind"] == FieldKind.LIST else None
    db.session.commit()
    flash(f"Saved \u201c{field.name}\u201d. Values that no longer fit stay as they were until someone edits them.", "success")
    return _page()


@bp.post("/<int:field_id>/delete")
@admin_required
def delete(field_id: int):
    field = db.session.get(ContactField, field_id) or abort(404)
    db.session.delete(field)
    db.session.commit()
    flash(f"Deleted \u201c{field.name}\u201d and its values.", "info")
    return _page()
