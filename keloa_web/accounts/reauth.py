"""Asking a signed-in person for their password again before what would take the account over
(a new phone for two-factor sign-in, new backup codes, turning it off, a new email, a new
password), throttled like sign-ins: a session left open or stolen cannot guess the password."""
from __future__ import annotations

from flask import current_app, request

from keloa_web.accounts.passwords import (
    account_wait, address_key, clear_failures, record_failure, verify_password, wait_text,
)
from keloa_web.db import db
from keloa_web.models import User


def _key(user: User) -> str:
    return f"password-again:{user.id}"


def check(user: User, password: str) -> str | None:
    """None when `password` is the user's; else what to say under the password field."""
    ip, key = address_key(request.remote_addr), _key(user)
    allowance = current_app.config["LOGIN_RATE_LIMIT"]
    wait = account_wait(db.session, ip, key, allowance)
    if wait:
        return f"Too many wrong passwords. Try again in {wait_text(wait)}."
    if verify_password(user.password_hash, password or ""):
        clear_failures(db.session, ip, key)
        return None
    record_failure(db.session, ip, key)
    db.session.commit()
    return "This is not your password."
