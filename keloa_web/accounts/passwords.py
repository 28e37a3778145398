"""Password hashing (argon2id) and login rate limiting."""
from __future__ import annotations

from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, or_, select

from keloa_web.db import utcnow
from keloa_web.models import LoginAttempt

_hasher = PasswordHasher()
WINDOW = timedelta(minutes=15)
# Verified against when the email is unknown, so timing does not reveal which emails exist.
_DUMMY_HASH = _hasher.hash("keloa-dummy-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def too_many_attempts(session, ip: str, email: str, limit: int) -> bool:
    since = utcnow() - WINDOW
    by_ip = session.scalar(select(func.count()).where(LoginAttempt.ip == ip, LoginAttempt.at >= since))
    by_email = session.scalar(select(func.count()).where(LoginAttempt.email == email, LoginAttempt.at >= since))
    return by_ip >= limit * 3 or by_email >= limit


def record_failure(session, ip: str, email: str) -> None:
    session.add(LoginAttempt(ip=ip, email=email))
    session.execute(delete(LoginAttempt).where(LoginAttempt.at < utcnow() - WINDOW))


def clear_failures(session, ip: str, email: str) -> None:
    session.execute(delete(LoginAttempt).where(or_(LoginAttempt.email == email)))
