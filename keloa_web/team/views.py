"""Team management for admins: invitations, roles, deactivation, and two-factor sign-in (the
team's rule, and turning it off for a teammate who lost their phone)."""
from __future__ import annotations

import secrets
from datetime import timedelta

from flask import Blueprint, abort, flash, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import EmailField, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, Length

from keloa_web.accounts.user_sessions import end_sessions
from keloa_web.accounts.views import token_hash
from keloa_web import mail
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


def _page(form: InviteForm, new_link: str | None = None, status: int = 200, **extra):
    users = db.session.scalars(select(User).order_by(User.created_at)).all()
    invites = db.session.scalars(
        select(Invite).where(Invite.used_at.is_(None), Invite.revoked.is_(False), Invite.expires_at > utcnow())
        .order_by(Invite.created_at.desc())
    ).all()
    from keloa_web.accounts import two_factor

    extra = {"two_factor_rule": two_factor.rule(), "two_factor_rules": two_factor.RULE_TEXT} | extra
    return render_page("team/index.html", block="team_body", status=status, users=users, invites=invites,
                       form=form, new_link=new_link, can_email=mail.configured(), **extra)


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
    invite = Invite(email=email, role=form.role.data, created_by_id=current_user.id)
    db.session.add(invite)
    link = _fresh_link(invite)
    db.session.commit()
    return _page(InviteForm(formdata=None), new_link=link, emailed=email if mail.configured() else None)


def _fresh_link(invite: Invite) -> str:
    """A new token (and 7 days) for `invite`, emailed when Keloa can send email; the link to show."""
    token = secrets.token_urlsafe(32)
    invite.token_hash, invite.expires_at = token_hash(token), utcnow() + INVITE_LIFETIME
    link = mail.link(url_for("accounts.accept_invite", token=token))
    if mail.configured():
        mail.queue(db.session, invite.email, f"{current_user.name} invites you to Keloa",
                   f"Hello,\n\n{current_user.name} invites you to answer your team's Instagram messages in Keloa "
                   f"as {'an admin' if invite.role == Role.ADMIN else 'a teammate'}.\n\nOpen this link to choose your "
                   f"name and password; it works once, for 7 days:\n\n{link}")
    return link


@bp.post("/invites/<int:invite_id>/resend")
@admin_required
def invite_resend(invite_id: int):
    """A new link for a pending invitation (the old one stops working), emailed again."""
    invite = db.session.get(Invite, invite_id) or abort(404)
    if invite.used_at is not None or invite.revoked:
        flash(f"The invitation for {invite.email} was used or revoked: create a new one.", "error")
        return _page(InviteForm(formdata=None), status=409)
    link = _fresh_link(invite)
    db.session.commit()
    return _page(InviteForm(formdata=None), new_link=link, emailed=invite.email if mail.configured() else None)


@bp.post("/<int:user_id>/reset-link")
@admin_required
def user_reset_link(user_id: int):
    """A password reset link for a teammate who lost theirs: shown to copy, and emailed too."""
    from keloa_web.accounts import reset

    user = _other_user(user_id)
    if not user.active:
        flash(f"{user.name} is deactivated: reactivate them first.", "error")
        return _page(InviteForm(formdata=None), status=409)
    link = reset.new_link(db.session, user)
    if mail.configured():
        reset.email_link(db.session, user, link, by=current_user.name)
    db.session.commit()
    return _page(InviteForm(formdata=None), reset_link=link, reset_for=user,
                 emailed=user.email if mail.configured() else None)


@bp.post("/test-email")
@admin_required
def test_email():
    """Send a test email to the admin now, and say what the mail server answered."""
    try:
        with db.released():
            mail.send(current_user.email, "Keloa test email",
                      f"This is a test email from Keloa at {mail.link('/')}. Email works.")
    except mail.MailError as exc:
        flash(f"The test email did not go: {exc}", "error")
        return _page(InviteForm(formdata=None), status=502)
    flash(f"Sent a test email to {current_user.email}. If it does not arrive, check MAIL_FROM and the spam folder.",
          "success")
    return _page(InviteForm(formdata=None))


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
    from keloa_web.accounts.reset import expire_links

    expire_links(db.session, user.id)
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


@bp.post("/two-factor")
@admin_required
def two_factor_rule():
    """Who must use two-factor sign-in. An admin the rule would cover sets it up first, so that
    saving it never sends them away from this page."""
    from keloa_web.accounts import two_factor
    from keloa_web.models import TwoFactorRule

    value = request.form.get("rule", "")
    if value not in tuple(TwoFactorRule):
        abort(400)
    if value != TwoFactorRule.NOBODY and not current_user.two_factor_on:
        return _page(InviteForm(formdata=None), status=409, two_factor_rule=value, current_rule=two_factor.rule(),
                     rule_error="Nothing was saved: set up two-factor sign-in for yourself first, since the rule "
                                "covers you too.")
    two_factor.set_rule(db.session, value)
    db.session.commit()
    covered = {TwoFactorRule.NOBODY: "Nobody has to use two-factor sign-in.",
               TwoFactorRule.ADMINS: "Admins must use two-factor sign-in: those without it set it up at their next page.",
               TwoFactorRule.EVERYONE: "Everyone must use two-factor sign-in: whoever has not set it up does so at "
                                       "their next page."}
    return _page(InviteForm(formdata=None), rule_saved=covered[TwoFactorRule(value)])


@bp.post("/<int:user_id>/two-factor-off")
@admin_required
def user_two_factor_off(user_id: int):
    """A teammate lost their phone and their backup codes: their password alone signs them in
    again (and, if the team's rule covers them, they set up a new phone at once). They are told."""
    from keloa_web.accounts import two_factor

    user = _other_user(user_id)
    if not user.two_factor_on:
        flash(f"{user.name} does not use two-factor sign-in.", "info")
        return _page(InviteForm(formdata=None))
    if not current_user.two_factor_on:
        # Else an admin account guarded by a password alone could strip another's second factor
        # and, with a reset link, take it over.
        flash(f"Only an admin who uses two-factor sign-in may turn it off for someone else: set it up for yourself "
              f"first (Settings), then turn it off for {user.name}.", "error")
        return _page(InviteForm(formdata=None), status=403)
    two_factor.turn_off(db.session, user)
    if mail.configured():
        mail.queue(db.session, user.email, "Two-factor sign-in was turned off for your Keloa account",
                   f"Hello {user.name},\n\n{current_user.name} turned off two-factor sign-in for your account, so "
                   "your password alone signs you in. Set it up again on Settings, Two-factor sign-in. If you did not "
                   "ask for this, tell your team at once.")
    db.session.commit()
    flash(f"Two-factor sign-in is off for {user.name}. They sign in with their password"
          f"{' and set up a new phone at once' if two_factor.required_for(user) else ''}.", "success")
    return _page(InviteForm(formdata=None))
