"""Password reset: "Forgot password?" emails a single-use link that expires in an hour (the same
answer whether or not the address has an account; throttled per address like sign-ins), and an
admin can make one for a teammate from the Team page (shown to copy, and emailed when Keloa can
send email). Setting the new password ends every session of that user."""
from __future__ import annotations

import secrets
from datetime import timedelta

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from sqlalchemy import select, update
from wtforms import EmailField
from wtforms.validators import DataRequired, Email, Length

from keloa_web import mail
from keloa_web.accounts.forms import _NewPassword
from keloa_web.accounts.passwords import address_key, hash_password, record_failure, retry_after, wait_text
from keloa_web.accounts.user_sessions import end_sessions
from keloa_web.accounts.views import bp, token_hash
from keloa_web.auth import public
from keloa_web.db import db, utcnow
from keloa_web.jobs import job
from keloa_web.models import PasswordReset, User

LIFETIME = timedelta(hours=1)
SENT = ("If an account uses that address, we have emailed it a link to choose a new password. "
        "The link works once, for an hour.")


class ForgotForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Email(), Length(max=254)])


class ResetForm(_NewPassword, FlaskForm):
    pass


def new_link(s, user: User) -> str:
    """A fresh reset link for `user` (earlier unused ones stop working)."""
    s.execute(update(PasswordReset).where(PasswordReset.user_id == user.id, PasswordReset.used_at.is_(None))
              .values(used_at=utcnow()))
    token = secrets.token_urlsafe(32)
    s.add(PasswordReset(token_hash=token_hash(token), user_id=user.id, expires_at=utcnow() + LIFETIME))
    return mail.link(f"/reset/{token}")  # (also made in the worker: no request to build URLs from)


def email_link(s, user: User, link: str, by: str | None = None) -> None:
    who = f"{by} made this link for you. " if by else "Someone (we hope you) asked to reset your Keloa password. "
    mail.queue(s, user.email, "Choose a new Keloa password",
               f"Hello {user.name},\n\n{who}Open this link to choose a new password; it works once, for an "
               f"hour:\n\n{link}\n\nIf you did not ask for it, ignore this email: your password stays as it is.")


@bp.route("/forgot", methods=["GET", "POST"])
@public
def forgot_password():
    form = ForgotForm()
    if not form.validate_on_submit():
        return render_template("accounts/forgot.html", form=form, can_email=mail.configured()), \
            400 if form.errors else 200
    email = form.email.data.strip().lower()
    ip = address_key(request.remote_addr)
    wait = retry_after(db.session, ip, email, current_app.config["LOGIN_RATE_LIMIT"])
    if wait:  # the address's own count: says nothing about the account
        form.form_errors.append(f"Too many requests from this address. Try again in {wait_text(wait)}.")
        return render_template("accounts/forgot.html", form=form, can_email=mail.configured()), 429, \
            {"Retry-After": str(wait)}
    record_failure(db.session, ip, email)  # each request counts, like a failed sign-in
    db.session.commit()
    if mail.configured():
        # The same work for any address: the worker looks the address up (the answer's timing
        # must not tell whether it has an account).
        try:
            send_reset.enqueue(email)
        except Exception:  # noqa: BLE001 - Redis down: nothing is sent, and the answer stays the same
            pass
    flash(SENT if mail.configured() else "This Keloa cannot send email (no mail server is set up): ask an admin "
          "for a reset link, which they make on the Team page.", "info")
    return redirect(url_for("accounts.login"))


@job("default")
def send_reset(email: str) -> None:
    """The "Forgot password?" email, if an active account uses `email` (else nothing)."""
    with db.session_scope() as s:
        user = s.scalar(select(User).where(User.email == email, User.active.is_(True)))
        if user is not None:
            email_link(s, user, new_link(s, user))


def expire_links(s, user_id: int) -> None:
    """A password changed, or an account deactivated: its outstanding reset links stop working."""
    s.execute(update(PasswordReset).where(PasswordReset.user_id == user_id, PasswordReset.used_at.is_(None))
              .values(used_at=utcnow()))


def _valid(token: str) -> PasswordReset | None:
    row = db.session.scalar(select(PasswordReset).where(PasswordReset.token_hash == token_hash(token)))
    if row is None or row.used_at is not None or row.expires_at < utcnow():
        return None
    user = db.session.get(User, row.user_id)
    return row if user is not None and user.active else None


@bp.route("/reset/<token>", methods=["GET", "POST"])
@public
def reset_password(token: str):
    row = _valid(token)
    if row is None:
        return render_template("accounts/reset_invalid.html"), 410
    user = db.session.get(User, row.user_id)
    form = ResetForm()
    if not form.validate_on_submit():
        return render_template("accounts/reset.html", form=form, user=user), 400 if form.errors else 200
    user.password_hash = hash_password(form.password.data)
    row.used_at = utcnow()
    end_sessions(db.session, user.id)  # signed out everywhere: whoever knew the old password too
    db.session.commit()
    flash("Your new password is set, and every session that used the old one has ended. Sign in.", "success")
    return redirect(url_for("accounts.login"))
