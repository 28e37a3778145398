"""Password hashing (argon2id) and the login throttle.

The throttle never locks an account: it slows down one address. Failed sign-ins are counted per
(address, email) and per address; past a free allowance each further attempt from there waits
1 s, 2 s, 4 s… after the last failure, up to MAX_DELAY. The owner signing in from another
address is never slowed by someone guessing elsewhere, and a success clears its pair's count.
"""
from __future__ import annotations

import ipaddress
import math
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select

from keloa_web.db import utcnow
from keloa_web.models import LoginAttempt

_hasher = PasswordHasher()
# Failures are remembered this long (the purge job in accounts/jobs.py uses the same horizon).
MEMORY = timedelta(days=1)
MAX_DELAY = timedelta(minutes=15)
# One address may fail this many times the per-pair allowance, over all emails, before it waits.
ADDRESS_FACTOR = 3
# Verified against when the email is unknown, so timing does not reveal which emails exist.
_DUMMY_HASH = _hasher.hash("keloa-dummy-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """Always runs one argon2 verification, against a dummy hash when there is no account."""
    try:
        return _hasher.verify(stored_hash or _DUMMY_HASH, password) and bool(stored_hash)
    except (VerificationError, InvalidHashError):
        return False


def address_key(remote_addr: str | None) -> str:
    """The address failures are counted for: the IPv4 address, or the /64 of an IPv6 one (a single
    host usually holds a whole /64, so counting per IPv6 address would be no limit at all)."""
    try:
        ip = ipaddress.ip_address(remote_addr or "")
    except ValueError:
        return (remote_addr or "?")[:64]
    if ip.version == 6:
        if ip.ipv4_mapped:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def _delay(failures: int, allowance: int) -> timedelta:
    if failures < allowance:
        return timedelta(0)
    return min(timedelta(seconds=2 ** min(failures - allowance, 20)), MAX_DELAY)


def retry_after(session, ip: str | None, email: str, allowance: int) -> int:
    """Seconds this address must still wait before trying `email` again; 0 if it may try now.
    With `ip` None: how long anyone must wait, counting `email`'s failures from every address (the
    codes of two-factor sign-in, whose guesser already has the password)."""
    now = utcnow()
    since = now - MEMORY
    waits = []
    checks = [(allowance, LoginAttempt.email == email)] if ip is None else [
        (allowance, (LoginAttempt.ip == ip) & (LoginAttempt.email == email)),
        (allowance * ADDRESS_FACTOR, LoginAttempt.ip == ip),
    ]
    for allowed, condition in checks:
        failures, last = session.execute(
            select(func.count(), func.max(LoginAttempt.at)).where(condition, LoginAttempt.at >= since)
        ).one()
        if failures and last is not None:
            waits.append((last + _delay(failures, allowed) - now).total_seconds())
    return max([0, *(math.ceil(w) for w in waits)])


def account_wait(session, ip: str, key: str, allowance: int) -> int:
    """Seconds to wait before the next try of a check whose guesser already holds a session or the
    password (a two-factor code, the password asked again): per address, and for the account from
    every address at twice the allowance."""
    return max(retry_after(session, ip, key, allowance), retry_after(session, None, key, allowance * 2))


def record_failure(session, ip: str, email: str) -> None:
    session.add(LoginAttempt(ip=ip, email=email))


def clear_failures(session, ip: str, email: str) -> None:
    session.execute(delete(LoginAttempt).where(LoginAttempt.ip == ip, LoginAttempt.email == email))


def wait_text(seconds: int) -> str:
    """`38 seconds`, `1 second`, `4 minutes`: how long the login page says to wait."""
    if seconds < 120:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    return f"{math.ceil(seconds / 60)} minutes"
