"""Sign-in plumbing: Flask-Login, "public" endpoints, and the admin-only guard."""
from __future__ import annotations

import functools
from urllib.parse import urlsplit

from flask import abort, flash, redirect, request, url_for
from flask_login import LoginManager, current_user
from sqlalchemy import select

from keloa_web.db import db
from keloa_web.htmx import hx_redirect, is_htmx

login_manager = LoginManager()
_PUBLIC_ATTR = "_keloa_public"


def public(view):
    """Allow a view without a signed-in user (login, setup, invites, health, webhooks)."""
    setattr(view, _PUBLIC_ATTR, True)
    return view


def admin_required(view):
    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        if not current_user.is_admin:
            abort(403, description="Only admins can do this. Ask an admin of your team.")
        return view(*args, **kwargs)

    return wrapped


@login_manager.user_loader
def _load_user(session_key: str):
    from keloa_web.accounts.user_sessions import load

    return load(session_key)  # None when that session was ended or expired: signed out


@login_manager.unauthorized_handler
def _unauthorized():
    if is_htmx():
        # The session ended during an htmx request: sign in again, then back to the page one was on
        # (HX-Current-URL is a full URL; only its path and query on this site are kept).
        current = urlsplit(request.headers.get("HX-Current-URL", ""))
        here = not current.netloc or current.netloc == request.host
        back = (current.path + (f"?{current.query}" if current.query else "")) if here and current.path else ""
        flash("Your session ended. Sign in again to continue.", "info")
        return hx_redirect("accounts.login", next=back)
    from keloa_web.models import User

    if db.session.scalar(select(User.id).limit(1)) is None:
        return redirect(url_for("accounts.setup"))  # a fresh install: nobody can sign in yet
    flash("Please sign in to continue.", "info")
    return redirect(url_for("accounts.login", next=request.full_path if request.method == "GET" else None))


def _require_login():
    view = None
    if request.endpoint:
        from flask import current_app

        view = current_app.view_functions.get(request.endpoint)
    if request.endpoint in (None, "static") or getattr(view, _PUBLIC_ATTR, False):
        return None
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    return None


def init_app(app) -> None:
    login_manager.init_app(app)
    login_manager.session_protection = "basic"
    app.before_request(_require_login)
