"""Your own account on the Settings page: name and time zone, and a new sign-in email, which takes
effect only when its owner opens the link sent to it (the old address is told). Without a mail
server the link is shown to copy, and the page says so."""
from __future__ import annotations

import secrets
from datetime import timedelta
from functools import lru_cache
from zoneinfo import available_timezones

from flask import flash, redirect, render_template, session, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select, update
from wtforms import EmailField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Email, Length

from keloa_web import mail
from keloa_web.accounts import reauth, reset
from keloa_web.accounts.forms import NAME_CHECKS
from keloa_web.accounts.views import _settings_page, bp, token_hash
from keloa_web.auth import public
from keloa_web.db import db, utcnow
from keloa_web.models import EmailChange, User

EMAIL_LINK_LIFETIME = timedelta(days=1)
_SHOWN_LINK_KEY = "email_change_link"  # the link to copy when this Keloa cannot send email


@lru_cache(maxsize=1)
def zone_names() -> tuple[str, ...]:
    """Every IANA zone but the legacy aliases (`US/Eastern`, `Etc/GMT+5`…), sorted."""
    return tuple(sorted(z for z in available_timezones()
                        if "/" in z and not z.startswith(("Etc/", "SystemV/", "US/")) or z == "UTC"))


class ProfileForm(FlaskForm):
    name = StringField("Your name", validators=NAME_CHECKS)
    time_zone = SelectField("Time zone", validate_choice=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.time_zone.choices = [("", "This browser's time zone")] + [(z, z.replace("_", " ")) for z in zone_names()]


class EmailForm(FlaskForm):
    new_email = EmailField("New email", validators=[DataRequired(message="Enter the new address."),
                                                    Email(message="This is not an email address."), Length(max=254)])
    password = PasswordField("Your password", validators=[DataRequired(message="Enter your password."),
                                                          Length(max=200)])


def pending_change(user_id: int) -> EmailChange | None:
    return db.session.scalar(select(EmailChange).where(
        EmailChange.user_id == user_id, EmailChange.used_at.is_(None), EmailChange.expires_at > utcnow(),
    ).order_by(EmailChange.id.desc()).limit(1))


def page_context() -> dict:
    """What the Settings page's profile and email cards show (accounts/views.py renders them)."""
    user = db.session.get(User, current_user.id)
    change = pending_change(user.id)
    taken = change is not None and db.session.scalar(select(User.id).where(User.email == change.new_email)) is not None
    return {"profile": ProfileForm(name=user.name, time_zone=user.time_zone, formdata=None),
            "email_form": EmailForm(formdata=None), "email_change": None if taken else change,
            "email_change_link": session.get(_SHOWN_LINK_KEY) if not taken else None}


@bp.post("/settings/profile")
def profile_save():
    form = ProfileForm()
    if not form.validate_on_submit():
        return _settings_page(status=400, profile=form)
    user = db.session.get(User, current_user.id)
    user.name, user.time_zone = form.name.data.strip(), form.time_zone.data or ""
    db.session.commit()
    flash("Your name and time zone are saved.", "success")
    return redirect(url_for("accounts.settings") + "#profile")


@bp.post("/settings/email")
def email_change():
    form = EmailForm()
    user = db.session.get(User, current_user.id)
    ok = form.validate_on_submit()
    if ok:
        new = form.new_email.data.strip().lower()
        problem = reauth.check(user, form.password.data)
        if problem:
            form.password.errors.append(problem)
        elif new == user.email:
            form.new_email.errors.append("This is already your email.")
        elif db.session.scalar(select(User.id).where(User.email == new)):
            form.new_email.errors.append("Another account of this Keloa uses this address.")
        ok = not form.errors
    if not ok:
        return _settings_page(status=400, email_form=form)
    db.session.execute(update(EmailChange).where(EmailChange.user_id == user.id, EmailChange.used_at.is_(None))
                       .values(used_at=utcnow()))
    token = secrets.token_urlsafe(32)
    db.session.add(EmailChange(token_hash=token_hash(token), user_id=user.id, new_email=new,
                               expires_at=utcnow() + EMAIL_LINK_LIFETIME))
    link = mail.link(url_for("accounts.email_confirm", token=token))
    if mail.configured():
        mail.queue(db.session, new, "Confirm your new Keloa email",
                   f"Hello {user.name},\n\nOpen this link to sign in to Keloa with this address from now on; it works "
                   f"once, for a day:\n\n{link}\n\nIf you did not ask for it, ignore this email: nothing changes.")
        session.pop(_SHOWN_LINK_KEY, None)
        flash(f"We emailed {new} a link: your email changes when you open it.", "success")
    else:
        session[_SHOWN_LINK_KEY] = link
        flash("This Keloa cannot send email (no mail server is set up): open the link below to confirm the new "
              "address.", "info")
    db.session.commit()
    return redirect(url_for("accounts.settings") + "#email")


@bp.post("/settings/email/cancel")
def email_change_cancel():
    db.session.execute(update(EmailChange).where(EmailChange.user_id == current_user.id,
                                                 EmailChange.used_at.is_(None)).values(used_at=utcnow()))
    db.session.commit()
    session.pop(_SHOWN_LINK_KEY, None)
    flash("The email change is cancelled: the link sent for it no longer works.", "info")
    return redirect(url_for("accounts.settings") + "#email")


@bp.get("/email/confirm/<token>")
@public
def email_confirm(token: str):
    """The link sent to the new address: opening it is the proof that its owner asked."""
    row = db.session.scalar(select(EmailChange).where(EmailChange.token_hash == token_hash(token)))
    user = db.session.get(User, row.user_id) if row is not None else None
    problem = None
    if row is None or user is None or not user.active or row.used_at is not None or row.expires_at < utcnow():
        problem = "This link is not valid any more: it was used, cancelled, or older than a day. Ask for a new one on Settings."
    elif db.session.scalar(select(User.id).where(User.email == row.new_email)):
        problem = "Another account of this Keloa now uses this address, so the change cannot be made."
    if problem:
        return render_template("accounts/email_invalid.html", problem=problem), 410
    old = user.email
    user.email, row.used_at = row.new_email, utcnow()
    reset.expire_links(db.session, user.id)  # reset links went to the old address
    if mail.configured():
        mail.queue(db.session, old, "Your Keloa email was changed",
                   f"Hello {user.name},\n\nYour Keloa account now signs in with {user.email} instead of this address. "
                   "If you did not do this, ask an admin of your team at once.")
    db.session.commit()
    if current_user.is_authenticated and current_user.id == user.id:
        session.pop(_SHOWN_LINK_KEY, None)
        flash(f"Your email is now {user.email}. Use it to sign in.", "success")
        return redirect(url_for("accounts.settings") + "#email")
    if current_user.is_authenticated:  # someone else's browser: nothing of it goes into this session
        return render_template("accounts/email_invalid.html", title="Email changed",
                               problem=f"That account's email is now {user.email}. (You are signed in as someone "
                                       "else: nothing changed for you.)"), 200
    flash(f"Your email is now {user.email}. Use it to sign in.", "success")
    return redirect(url_for("accounts.login"))
