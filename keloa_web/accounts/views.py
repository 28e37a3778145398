"""Setup of the first account, sign in and out, invitation acceptance, own settings."""
from __future__ import annotations

import hashlib
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import func, select

from keloa_web.accounts.forms import AcceptInviteForm, ChangePasswordForm, LoginForm, SetupForm
from keloa_web.accounts.passwords import (
    address_key, clear_failures, hash_password, record_failure, retry_after, verify_password, wait_text,
)
from keloa_web.accounts.user_sessions import current, end_sessions, live_sessions, sign_in, sign_out
from keloa_web.auth import public
from keloa_web.db import db, utcnow
from keloa_web.models import Availability, Invite, Role, User

bp = Blueprint("accounts", __name__)


def _has_users() -> bool:
    return bool(db.session.scalar(select(func.count()).select_from(User)))


def _safe_next(target: str | None) -> str:
    """`target` if it is a path on this site, else the inbox.

    Browsers drop tabs and newlines from a URL and read a backslash as a slash, so `/\\evil.com`
    or `/<tab>/evil.com` would leave the site; control characters would also break the Location
    header. A target with any of them is refused, not cleaned.
    """
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target \
            and not any(ord(c) < 0x20 or ord(c) == 0x7f for c in target):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return url_for("inbox.index") if "inbox.index" in current_app.view_functions else "/"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@bp.route("/setup", methods=["GET", "POST"])
@public
def setup():
    if _has_users():
        abort(404)
    form = SetupForm()
    if form.validate_on_submit():
        user = User(
            email=form.email.data.strip().lower(), name=form.name.data.strip(),
            password_hash=hash_password(form.password.data), role=Role.ADMIN,
        )
        db.session.add(user)
        db.session.commit()
        sign_in(user)
        flash("Welcome to Keloa. Connect an Instagram account to start.", "success")
        return redirect(url_for("integrations.index") if "integrations.index" in current_app.view_functions else "/")
    return render_template("accounts/setup.html", form=form), 400 if form.errors else 200


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    if not _has_users():
        return redirect(url_for("accounts.setup"))
    if current_user.is_authenticated:
        return redirect(_safe_next(request.args.get("next")))
    form = LoginForm()
    status, headers = 200, {}
    if form.validate_on_submit():
        email = form.email.data.strip().lower()
        ip = address_key(request.remote_addr)
        wait = retry_after(db.session, ip, email, current_app.config["LOGIN_RATE_LIMIT"])
        if wait:
            # Says nothing about the account (the count is the address's own), so no password check.
            form.form_errors.append(f"Too many failed attempts from this address. Try again in {wait_text(wait)}.")
            status, headers = 429, {"Retry-After": str(wait)}
        else:
            user = db.session.scalar(select(User).where(User.email == email))
            # One argon2 verification whether or not the email exists: the answer's timing is the same.
            right = verify_password(user.password_hash if user else None, form.password.data)
            if user and right and user.active:
                clear_failures(db.session, ip, email)
                db.session.commit()
                if user.two_factor_on:  # the password was the first step: now the code
                    two_factor_views.begin(user, request.args.get("next"))
                    return redirect(url_for("accounts.login_code"))
                sign_in(user)
                return redirect(_safe_next(request.args.get("next")))
            record_failure(db.session, ip, email)
            db.session.commit()
            if user and right:  # only the right password learns that the account was deactivated
                form.form_errors.append("This account was deactivated. Ask an admin of your team.")
            else:
                form.form_errors.append("Wrong email or password.")
            status = 401
    elif form.errors:
        status = 400
    return render_template("accounts/login.html", form=form), status, headers


@bp.post("/logout")
@login_required
def logout():
    sign_out()
    flash("You are signed out.", "info")
    return redirect(url_for("accounts.login"))


@bp.route("/invite/<token>", methods=["GET", "POST"])
@public
def accept_invite(token: str):
    invite = db.session.scalar(select(Invite).where(Invite.token_hash == token_hash(token)))
    problem = None
    if invite is None or invite.revoked:
        problem = "This invitation link is not valid. Ask an admin for a new one."
    elif invite.used_at is not None:
        problem = "This invitation link was already used. Sign in, or ask an admin for a new link."
    elif invite.expires_at < utcnow():
        problem = "This invitation link has expired. Ask an admin for a new one."
    if problem:
        return render_template("accounts/invite_invalid.html", problem=problem), 410
    form = AcceptInviteForm()
    if form.validate_on_submit():
        if db.session.scalar(select(User).where(User.email == invite.email)):
            return render_template(
                "accounts/invite_invalid.html", problem="An account with this email already exists. Sign in instead."
            ), 409
        user = User(email=invite.email, name=form.name.data.strip(),
                    password_hash=hash_password(form.password.data), role=invite.role)
        invite.used_at = utcnow()
        db.session.add(user)
        db.session.commit()
        sign_in(user)
        flash("Welcome to the team.", "success")
        return redirect(_safe_next(None))
    return render_template("accounts/invite_accept.html", form=form, invite=invite), 400 if form.errors else 200


def _settings_page(form: ChangePasswordForm | None = None, status: int = 200, **forms):
    """The Settings page; `forms` replaces a card's form with the one just submitted (its errors shown)."""
    from keloa_web.accounts import two_factor

    cfg = current_app.config
    idle = cfg["SESSION_IDLE_MINUTES"]
    idle_text = f"{idle // 60} hours" if idle % 60 == 0 and idle >= 120 else f"{idle} minutes"
    context = profile.page_context() | forms
    return render_template("accounts/settings.html", form=form or ChangePasswordForm(formdata=None), cfg=cfg,
                           idle_text=idle_text, sessions=live_sessions(current_user.id), this_session=current(),
                           two_factor_required=two_factor.required_for(current_user),
                           codes_left=two_factor.backup_codes_left(current_user.id), **context), status


@bp.route("/settings", methods=["GET", "POST"])
@login_required
def settings():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        problem = reauth.check(db.session.get(User, current_user.id), form.current.data)
        if problem:
            form.current.errors.append(problem if "Too many" in problem else "This is not your current password.")
        else:
            current_user.password_hash = hash_password(form.password.data)
            end_sessions(db.session, current_user.id, keep_id=current().id)
            reset.expire_links(db.session, current_user.id)  # (the module below, imported at load)
            db.session.commit()
            flash("Password changed. Your other sessions were signed out.", "success")
            return redirect(url_for("accounts.settings"))
    return _settings_page(form, 400 if form.errors else 200)


@bp.post("/settings/sessions/sign-out-others")
@login_required
def sessions_sign_out_others():
    end_sessions(db.session, current_user.id, keep_id=current().id)
    db.session.commit()
    flash("Your other sessions were signed out. This browser stays signed in.", "success")
    return redirect(url_for("accounts.settings") + "#sessions")


@bp.post("/settings/sessions/<int:session_id>/sign-out")
@login_required
def session_sign_out(session_id: int):
    if session_id == current().id:
        return logout()
    if not end_sessions(db.session, current_user.id, only_id=session_id):
        db.session.rollback()
        flash("That session had already ended.", "info")
    else:
        db.session.commit()
        flash("That session was signed out.", "success")
    return redirect(url_for("accounts.settings") + "#sessions")


@bp.post("/settings/availability")
def availability_update():
    """Online or away: whoever is away is skipped when new conversations are assigned in turn."""
    value = request.form.get("availability")
    if value not in (Availability.ONLINE, Availability.AWAY):
        abort(400)
    user = db.session.get(User, current_user.id)
    user.availability = value
    db.session.commit()
    flash("You are online: new conversations may be assigned to you in turn." if value == Availability.ONLINE
          else "You are away: new conversations are not assigned to you until you are online again.", "info")
    back = urlsplit(request.referrer or "")
    here = back.netloc == request.host and back.path
    return redirect(_safe_next(back.path + (f"?{back.query}" if back.query else "")) if here else url_for("inbox.index"))


from keloa_web.accounts import profile, reauth, reset, two_factor_views  # noqa: E402,F401  (their routes are on bp)
