"""The pages of two-factor sign-in: the code asked after the password, the set-up (QR code, first
code, backup codes shown once), new backup codes, turning it off, and the gate that sends whoever
the team's rule covers to the set-up until they have done it. The rules live in two_factor.py."""
from __future__ import annotations

import time

from flask import abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from keloa_web.accounts import reauth, two_factor
from keloa_web.accounts.passwords import account_wait, address_key, clear_failures, record_failure, wait_text
from keloa_web.accounts.user_sessions import sign_in
from keloa_web.accounts.views import _safe_next, bp
from keloa_web.auth import public
from keloa_web.db import db
from keloa_web.htmx import hx_redirect, is_htmx
from keloa_web.models import User

PENDING_KEY = "two_factor_pending"
PENDING_SECONDS = 5 * 60  # from the right password to the code


class CodeForm(FlaskForm):
    code = StringField("Authentication code", validators=[DataRequired(message="Enter the code."), Length(max=32)])


class ConfirmForm(FlaskForm):
    code = StringField("Code from the app", validators=[DataRequired(message="Enter the 6-digit code the app shows."),
                                                        Length(max=32)], render_kw={"inputmode": "numeric"})


class PasswordForm(FlaskForm):
    password = PasswordField("Your password", validators=[DataRequired(message="Enter your password."),
                                                          Length(max=200)])


def _throttle_key(user_id: int) -> str:
    return f"two-factor:{user_id}"


# Sign-in, second step -----------------------------------------------------------------------

def begin(user: User, next_url: str | None) -> None:
    """The password was right and `user` has a second factor: remember that (for a few minutes, in
    the signed session cookie) and ask for the code. Nothing else of a session exists yet."""
    session.clear()
    session[PENDING_KEY] = {"user": user.id, "at": int(time.time()), "next": next_url or ""}


def _pending_user() -> tuple[User | None, str]:
    pending = session.get(PENDING_KEY)
    if not isinstance(pending, dict) or time.time() - pending.get("at", 0) > PENDING_SECONDS:
        return None, ""
    user = db.session.get(User, pending.get("user"))
    if user is None or not user.active or not user.two_factor_on:
        return None, ""
    return user, pending.get("next") or ""


@bp.route("/login/code", methods=["GET", "POST"])
@public
def login_code():
    if current_user.is_authenticated:
        return redirect(_safe_next(None))
    had_pending = PENDING_KEY in session
    user, next_url = _pending_user()
    if user is None:
        session.pop(PENDING_KEY, None)
        flash("Sign in again: the step for your authentication code was left for more than 5 minutes." if had_pending
              else "Sign in with your email and password first.", "info")
        return redirect(url_for("accounts.login"))
    form = CodeForm()
    status, headers = 200, {}
    if form.validate_on_submit():
        ip, key = address_key(request.remote_addr), _throttle_key(user.id)
        allowance = current_app.config["LOGIN_RATE_LIMIT"]
        wait = account_wait(db.session, ip, key, allowance)
        if wait:
            form.code.errors.append(f"Too many wrong codes. Try again in {wait_text(wait)}.")
            status, headers = 429, {"Retry-After": str(wait)}
        else:
            kind = two_factor.check(db.session, user, form.code.data)
            if kind:
                clear_failures(db.session, ip, key)
                db.session.commit()
                left = two_factor.backup_codes_left(user.id)
                sign_in(user)
                if kind == "backup":
                    flash(f"Signed in with a backup code: {left} left. If you lost your phone, set up two-factor "
                          "sign-in again on Settings.", "info" if left > 2 else "error")
                return redirect(_safe_next(next_url or None))
            record_failure(db.session, ip, key)
            _tell_after_wrong_codes(user, key, allowance)
            db.session.commit()
            form.code.errors.append("That code is not right, or was already used. Enter the code the app shows now, "
                                    "or one of your backup codes.")
            status = 401
    elif form.errors:
        status = 400
    return render_template("accounts/login_code.html", form=form), status, headers


def _tell_after_wrong_codes(user: User, key: str, allowance: int) -> None:
    """Wrong codes after the right password mean the password is known: tell its owner, once per
    burst (when the account's count reaches the allowance)."""
    from sqlalchemy import func, select

    from keloa_web import mail
    from keloa_web.accounts.passwords import MEMORY
    from keloa_web.db import utcnow
    from keloa_web.models import LoginAttempt

    wrong = db.session.scalar(select(func.count()).select_from(LoginAttempt).where(
        LoginAttempt.email == key, LoginAttempt.at >= utcnow() - MEMORY))
    if wrong == allowance and mail.configured():
        mail.queue(db.session, user.email, "Someone has your Keloa password",
                   f"Hello {user.name},\n\nSomeone signed in to Keloa with your password but then entered {wrong} wrong "
                   "authentication codes, so they did not get in. If it was not you, change your password now "
                   f"(Settings, Your password): {mail.link('/settings')}")


def _notice(user: User, subject: str, text: str) -> None:
    """An email about a change to the account's sign-in (when Keloa can send email)."""
    from keloa_web import mail

    if mail.configured():
        mail.queue(db.session, user.email, subject,
                   f"Hello {user.name},\n\n{text}\n\nIf it was not you, tell an admin of your team at once.")


@bp.post("/login/code/cancel")
@public
def login_code_cancel():
    session.pop(PENDING_KEY, None)
    return redirect(url_for("accounts.login"))


# Set-up and management ----------------------------------------------------------------------

def _setup_page(status: int = 200, *, confirm: ConfirmForm | None = None, password: PasswordForm | None = None,
                codes: list[str] | None = None, done: str | None = None, moving: bool = False):
    user = db.session.get(User, current_user.id)
    secret = two_factor.pending_secret(user)
    uri = two_factor.provisioning_uri(user, secret) if secret else None
    return render_template(
        "accounts/two_factor.html", user=user, secret=secret and two_factor.grouped(secret),
        qr=uri and two_factor.qr_svg(uri), confirm=confirm or ConfirmForm(), password=password or PasswordForm(),
        codes=codes, codes_left=two_factor.backup_codes_left(user.id), required=two_factor.required_for(user),
        rule_text=two_factor.RULE_TEXT[two_factor.rule()], done=done, moving=moving,
    ), status


@bp.get("/settings/two-factor")
def two_factor_page():
    return _setup_page()


@bp.post("/settings/two-factor/start")
def two_factor_start():
    """A new secret to scan (the first set-up, or moving to a new phone: the old one works until the
    new one is confirmed)."""
    user = db.session.get(User, current_user.id)
    if user.two_factor_on:  # replacing the phone: whoever holds only the session may not
        form = PasswordForm()
        if not _password_ok(form):
            return _setup_page(400, password=form, moving=True)
    two_factor.start_setup(user)
    db.session.commit()
    return redirect(url_for("accounts.two_factor_page") + "#setup")


@bp.post("/settings/two-factor/cancel")
def two_factor_cancel():
    user = db.session.get(User, current_user.id)
    user.totp_pending_enc = None
    db.session.commit()
    flash("Set-up cancelled." + (" Your current phone keeps working." if user.two_factor_on else ""), "info")
    return redirect(url_for("accounts.two_factor_page"))


@bp.post("/settings/two-factor/confirm")
def two_factor_confirm():
    user = db.session.get(User, current_user.id)
    form = ConfirmForm()
    if two_factor.pending_secret(user) is None:
        flash("Start the set-up again: there is no new code to confirm.", "error")
        return redirect(url_for("accounts.two_factor_page"))
    if not form.validate_on_submit():
        return _setup_page(400, confirm=form)
    moved = user.two_factor_on
    codes = two_factor.confirm_setup(db.session, user, form.code.data)
    if codes is None:
        form.code.errors.append("That code is not right. Check that the phone's time is set automatically, and "
                                "enter the code the app shows now.")
        return _setup_page(400, confirm=form)
    _notice(user, "Two-factor sign-in changed on your Keloa account",
            "Your Keloa account now asks for codes from a new phone; the old phone and the old backup codes no longer "
            "work." if moved else "Two-factor sign-in is now on for your Keloa account.")
    db.session.commit()
    return _setup_page(codes=codes, done="Two-factor sign-in now uses the new phone: the old one and your old backup "
                                         "codes no longer work." if moved else "Two-factor sign-in is on.")


def _password_ok(form: PasswordForm) -> bool:
    if not form.validate_on_submit():
        return False
    problem = reauth.check(db.session.get(User, current_user.id), form.password.data)
    if problem:
        form.password.errors.append(problem)
        return False
    return True


@bp.post("/settings/two-factor/backup-codes")
def two_factor_new_codes():
    form = PasswordForm()
    user = db.session.get(User, current_user.id)
    if not user.two_factor_on:
        abort(409, description="Set up two-factor sign-in first.")
    if not _password_ok(form):
        return _setup_page(400, password=form)
    codes = two_factor.new_backup_codes(db.session, user)
    db.session.commit()
    return _setup_page(codes=codes)


@bp.post("/settings/two-factor/off")
def two_factor_off():
    form = PasswordForm()
    user = db.session.get(User, current_user.id)
    if two_factor.required_for(user):
        form.password.errors = ["Your team requires two-factor sign-in, so it stays on. To use a new phone, "
                                "choose \u201cSet up on a new phone\u201d."]
        return _setup_page(409, password=form)
    if not _password_ok(form):
        return _setup_page(400, password=form)
    two_factor.turn_off(db.session, user)
    _notice(user, "Two-factor sign-in was turned off on your Keloa account",
            "Two-factor sign-in was turned off for your Keloa account: your password alone signs you in.")
    db.session.commit()
    flash("Two-factor sign-in is off: your password alone signs you in.", "success")
    return redirect(url_for("accounts.two_factor_page"))


@bp.get("/settings/two-factor/<any(start, confirm, cancel, off, 'backup-codes'):_step>")
def two_factor_step_reloaded(_step: str):
    """A reload (or Back) of the answer to one of the forms above: the page itself (the backup codes
    shown then are not kept anywhere, so they cannot be shown again)."""
    return redirect(url_for("accounts.two_factor_page"))


# The team's rule, enforced ------------------------------------------------------------------

_OPEN_WHILE_REQUIRED = {"accounts.two_factor_page", "accounts.two_factor_start", "accounts.two_factor_confirm",
                        "accounts.two_factor_cancel", "accounts.two_factor_step_reloaded", "accounts.logout", "static"}


def gate():
    """Someone the team's rule covers, signed in without a second factor yet, sets one up first."""
    # Public views first, without looking at current_user: loading the user touches its session row,
    # which the webhook intake (public, and writing through its own connection) must never wait for.
    if request.endpoint in _OPEN_WHILE_REQUIRED:
        return None
    view = current_app.view_functions.get(request.endpoint or "")
    if view is None or getattr(view, "_keloa_public", False):
        return None
    if not current_user.is_authenticated:
        return None
    if current_user.two_factor_on or not two_factor.required_for(current_user):
        return None
    flash("Your team requires two-factor sign-in: set it up to continue.", "info")
    if is_htmx():
        return hx_redirect("accounts.two_factor_page")
    return redirect(url_for("accounts.two_factor_page"))


def init_app(app) -> None:
    app.before_request(gate)  # after auth's own sign-in check (registered first)
