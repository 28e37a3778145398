"""The labels admins define: a name and a colour from a fixed set. Everyone puts them on
conversations from the thread (keloa_web/inbox/actions.py); the inbox filters by them."""
from __future__ import annotations

from flask import Blueprint, abort, flash
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from keloa_web.auth import admin_required
from keloa_web.db import db
from keloa_web.htmx import render_page
from keloa_web.inbox.queries import all_labels
from keloa_web.models import Label, LabelColor, conversation_labels

bp = Blueprint("labels", __name__, url_prefix="/labels")


class LabelForm(FlaskForm):
    name = StringField("Name", description="Up to 40 characters.", validators=[DataRequired("Give the label a name, such as VIP or Refund."),
                                           Length(max=40, message="Up to 40 characters.")])
    color = SelectField("Colour", choices=[SelectChoice(c.value, c.value.capitalize()) for c in LabelColor],
                        default=LabelColor.BLUE)

    def accepted(self, but: int | None = None) -> bool:
        """Valid, and its name not another label's (case aside); `but` is the label being renamed."""
        if not self.validate_on_submit():
            return False
        if _taken(self.clean_name, but):
            self.name.errors.append(f"A label \u201c{self.clean_name}\u201d already exists.")
            return False
        return True

    @property
    def clean_name(self) -> str:
        return (self.name.data or "").strip()


def _page(form: LabelForm | None = None, status: int = 200, editing: int | None = None,
          editing_form: LabelForm | None = None):
    counts = dict(db.session.execute(select(conversation_labels.c.label_id, func.count())
                                     .group_by(conversation_labels.c.label_id)).all())
    return render_page("labels/index.html", block="labels_body", status=status, labels=all_labels(db.session), counts=counts,
                       form=form or LabelForm(formdata=None), colors=list(LabelColor), editing=editing,
                       editing_form=editing_form)


def _taken(name: str, but: int | None = None) -> bool:
    stmt = select(Label.id).where(func.lower(Label.name) == name.lower())
    if but is not None:
        stmt = stmt.where(Label.id != but)
    return db.session.scalar(stmt) is not None


@bp.get("/")
@admin_required
def index():
    return _page()


@bp.post("/")
@admin_required
def create():
    form = LabelForm()
    if not form.accepted():
        return _page(form, status=400)
    name = form.clean_name
    db.session.add(Label(name=name, color=form.color.data))
    db.session.commit()
    flash(f"Added the label \u201c{name}\u201d. Put it on a conversation from its thread.", "success")
    return _page()


@bp.post("/<int:label_id>")
@admin_required
def update(label_id: int):
    label = db.session.get(Label, label_id) or abort(404)
    form = LabelForm()
    if not form.accepted(but=label.id):
        flash(f"\u201c{label.name}\u201d was not changed: correct the fields marked below.", "error")
        return _page(status=400, editing=label.id, editing_form=form)
    label.name, label.color = form.clean_name, form.color.data
    db.session.commit()
    flash(f"Saved \u201c{label.name}\u201d.", "success")
    return _page()


@bp.post("/<int:label_id>/delete")
@admin_required
def delete(label_id: int):
    label = db.session.get(Label, label_id) or abort(404)
    db.session.delete(label)  # conversation_labels rows go with it (ON DELETE CASCADE)
    db.session.commit()
    flash(f"Deleted \u201c{label.name}\u201d; it is off every conversation.", "info")
    return _page()
