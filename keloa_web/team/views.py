"""Team management for admins: invitations, roles, deactivation."""
from __future__ import annotations

import secrets
from datetime import timedelta

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import EmailField, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, Length

from keloa_web.accounts.user_sessions import end_sessions
from keloa_web.accounts.views import token_hash
from keloa_web.auth import admin_required
from keloa_web.db import db, utcnow
from keloa_web.htmx import render_page
from keloa_web.models import Invite, Role, User

bp = Blueprint("team", __name__, url_prefix="/team")
INVITE_LIFETIME = timedelta(days=7)


class InviteForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Email(), Length(max=254)])
    role = SelectField("Role", choices=[SelectChoice(Role.AGENT, "Agent (inbox only)"), SelectChoice(Role.ADMIN, "Admin")],
                       default=Role.AGENT)


def _page(form: InviteForm, new_link: str | None = None, status: int = 200):
    users = db.session.scalars(select(User).order_by(User.created_at)).all()
    invites = db.session.scalars(
        select(Invite).where(Invite.used_at.is_(None), Invite.revoked.is_(False), Invite.expires_at > utcnow())
        .order_by(Invite.created_at.desc())
    ).all()
    return render_page("team/index.html", block="team_body", status=status, users=users, invites=invites,
                       form=form, new_link=new_link)


@bp.get("/")
@admin_required
def index():
    return _page(InviteForm())


@bp.post("/invites")
@admin_required
def invite_create():
    form = InviteForm()
    if not form.validate_on_submit():
        return _page(form, status=400)
    email = form.email.data.strip().lower()
    if db.session.scalar(select(User).where(User.email == email)):
        form.email.errors.append("Someone with this email is already on the team.")
        return _page(form, status=400)
    token = secrets.token_urlsafe(32)
    db.session.add(Invite(token_hash=token_hash(token), email=email, role=form.role.data,
                          created_by_id=current_user.id, expires_at=utcnow() + INVITE_LIFETIME))
    db.session.commit()
    link = url_for("accounts.accept_invite", token=token, _external=True)
    return _page(InviteForm(formdata=None), new_link=link)


@bp.post("/invites/<int:invite_id>/revoke")
@admin_required
def invite_revoke(invite_id: int):
    invite = db.session.get(Invite, invite_id) or abort(404)
    invite.revoked = True
    db.session.commit()
    flash(f"Invitation for {invite.email} revoked.", "info")
    return _page(InviteForm(formdata=None))


def _other_user(user_id: int) -> User:
    user = db.session.get(User, user_id) or abort(404)
    if user.id == current_user.id:
        abort(403, description="You cannot change your own access here. Ask another admin.")
    return user


def _admins_left(excluding: User) -> int:
    return db.session.scalar(select(func.count()).select_from(User).where(
        User.role == Role.ADMIN, User.active.is_(True), User.id != excluding.id))


@bp.post("/<int:user_id>/deactivate")
@admin_required
def user_deactivate(user_id: int):
    user = _other_user(user_id)
    user.active = False
    end_sessions(db.session, user.id)  # signed out everywhere, at their next request
    db.session.commit()
    flash(f"{user.name} was deactivated and signed out everywhere.", "success")
    return _page(InviteForm(formdata=None))


@bp.post("/<int:user_id>/reactivate")
@admin_required
def user_reactivate(user_id: int):
    user = _other_user(user_id)
    user.active = True
    db.session.commit()
    flash(f"{user.name} can sign in again.", "success")
    return _page(InviteForm(formdata=None))


@bp.post("/<int:user_id>/role")
@admin_required
def user_role(user_id: int):
    user = _other_user(user_id)
    role = request.form.get("role", "")
    if role not in tuple(Role):
        abort(400)
    if user.role == Role.ADMIN and role != Role.ADMIN and _admins_left(user) == 0:
        flash("A team needs at least one admin.", "error")
        return _page(InviteForm(formdata=None), status=400)
    user.role = role
    db.session.commit()
    flash(f"{user.name} is now {'an admin' if role == Role.ADMIN else 'an agent'}.", "success")
    return _page(InviteForm(formdata=None))
