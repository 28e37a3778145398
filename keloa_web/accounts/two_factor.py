"""Two-factor sign-in: TOTP codes (RFC 6238, pyotp) and ten single-use backup codes.

Set-up keeps a new secret, encrypted, as *pending* until the first code from the app confirms it;
only then is it the user's secret (so a half-done set-up, or moving to a new phone, never locks
anyone out). A code is accepted for the current 30-second step and one either side (clocks drift)
and each step only once: `totp_last_step` keeps the last one used, so a code seen over a shoulder
cannot be replayed. Backup codes are kept as SHA-256s and die when used.

The team's rule (TeamSettings.two_factor_rule: nobody, admins, everyone) is enforced by `gate`:
someone it covers who has not set up two-factor sign-in yet can open only the set-up page (and
sign out) until they do. A lost phone is recovered with a backup code, or by an admin, who can turn
two-factor sign-in off for a teammate on the Team page.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
import time

import pyotp
import segno
from markupsafe import Markup
from sqlalchemy import delete, func, select, update

from keloa_web.crypto import decrypt, encrypt
from keloa_web.db import db, utcnow
from keloa_web.models import BackupCode, TeamSettings, TwoFactorRule, User

ISSUER = "Keloa"
BACKUP_COUNT = 10
_BACKUP_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread
_BACKUP_LENGTH = 10  # ~49 bits each, typed as xxxxx-xxxxx
STEP_SECONDS = 30
RULE_TEXT = {
    TwoFactorRule.NOBODY: "Not required",
    TwoFactorRule.ADMINS: "Required for admins",
    TwoFactorRule.EVERYONE: "Required for everyone",
}


# The team's rule ----------------------------------------------------------------------------

def rule(s=None) -> str:
    row = (s or db.session).get(TeamSettings, 1)
    return row.two_factor_rule if row is not None else TwoFactorRule.NOBODY


def set_rule(s, value: str) -> None:
    row = s.get(TeamSettings, 1)
    if row is None:
        row = TeamSettings(id=1)
        s.add(row)
    row.two_factor_rule, row.updated_at = TwoFactorRule(value), utcnow()


def required_for(user: User, team_rule: str | None = None) -> bool:
    team_rule = team_rule or rule()
    return team_rule == TwoFactorRule.EVERYONE or (team_rule == TwoFactorRule.ADMINS and user.is_admin)


# Set-up -------------------------------------------------------------------------------------

def start_setup(user: User) -> str:
    """A new secret for `user`, pending until a code confirms it; returns it (base32)."""
    secret = pyotp.random_base32()
    user.totp_pending_enc = encrypt(secret)
    return secret


def pending_secret(user: User) -> str | None:
    return decrypt(user.totp_pending_enc)


def provisioning_uri(user: User, secret: str) -> str:
    """The otpauth:// address the QR code holds (what authenticator apps read)."""
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)


def qr_svg(uri: str) -> Markup:
    """The QR code of `uri` as inline SVG, drawn here (the secret never leaves the server for a
    QR service). segno writes only paths and numbers; the address itself is not in the markup."""
    return Markup(segno.make(uri, error="m").svg_inline(scale=5, border=2, dark="#111", light="#fff",
                                                       omitsize=True, svgclass="qr", lineclass=None))


def grouped(secret: str) -> str:
    """`JBSW Y3DP EHPK 3PXP`: the secret as people type it into an app by hand."""
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


def confirm_setup(s, user: User, code: str) -> list[str] | None:
    """Make the pending secret the user's if `code` is right for it; returns the new backup codes
    (shown once), or None when the code is wrong."""
    secret = pending_secret(user)
    step = _matching_step(secret, code, after=0) if secret else None
    if step is None:
        return None
    user.totp_secret_enc, user.totp_pending_enc = user.totp_pending_enc, None
    user.totp_enabled_at, user.totp_last_step = utcnow(), step
    return new_backup_codes(s, user)


def turn_off(s, user: User) -> None:
    user.totp_secret_enc = user.totp_pending_enc = None
    user.totp_enabled_at, user.totp_last_step = None, 0
    s.execute(delete(BackupCode).where(BackupCode.user_id == user.id))


# Codes --------------------------------------------------------------------------------------

def _now_step(at: float | None = None) -> int:
    return int((time.time() if at is None else at) // STEP_SECONDS)


def _matching_step(secret: str, code: str, after: int) -> int | None:
    code = "".join(code.split())
    if len(code) != 6 or not code.isdigit():
        return None
    totp, now = pyotp.TOTP(secret), _now_step()
    for step in (now - 1, now, now + 1):
        if step > after and hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def _backup_hash(user_id: int, code: str) -> str:
    return hashlib.sha256(f"{user_id}:{code}".encode()).hexdigest()


def _normal_backup(code: str) -> str:
    return "".join(ch for ch in code.lower() if ch.isalnum())


def new_backup_codes(s, user: User) -> list[str]:
    """Ten fresh backup codes for `user` (the old ones stop working); returns them as shown."""
    s.execute(delete(BackupCode).where(BackupCode.user_id == user.id))
    codes = ["".join(secrets.choice(_BACKUP_ALPHABET) for _ in range(_BACKUP_LENGTH)) for _ in range(BACKUP_COUNT)]
    s.add_all(BackupCode(user_id=user.id, code_hash=_backup_hash(user.id, c)) for c in codes)
    return [f"{c[:5]}-{c[5:]}" for c in codes]


def backup_codes_left(user_id: int) -> int:
    return db.session.scalar(select(func.count()).select_from(BackupCode).where(
        BackupCode.user_id == user_id, BackupCode.used_at.is_(None))) or 0


def check(s, user: User, code: str) -> str | None:
    """Accept `code` for `user` (an app code, or a backup code, which is then used up): returns
    "app" or "backup", or None when it is wrong, already used, or the user has no second factor."""
    secret = decrypt(user.totp_secret_enc) if user.two_factor_on else None
    if secret is None:
        return None
    step = _matching_step(secret, code, after=user.totp_last_step)
    if step is not None:
        # Only if no other request used this step (or a later one) meanwhile: a code works once
        # even when two sign-ins race with it.
        won = s.execute(update(User).where(User.id == user.id, User.totp_last_step < step)
                        .values(totp_last_step=step)).rowcount
        return "app" if won else None
    normal = _normal_backup(code)
    if len(normal) != _BACKUP_LENGTH:
        return None
    row = s.scalar(select(BackupCode).where(BackupCode.user_id == user.id,
                                            BackupCode.code_hash == _backup_hash(user.id, normal),
                                            BackupCode.used_at.is_(None)))
    if row is None:
        return None
    won = s.execute(update(BackupCode).where(BackupCode.id == row.id, BackupCode.used_at.is_(None))
                    .values(used_at=utcnow())).rowcount
    return "backup" if won else None

