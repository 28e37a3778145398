"""Files under MEDIA_DIR: saved under random names, addressed by relative paths, never outside it.

`public_url(path, max_age)` gives a signed, expiring URL (served by media.media_public) for media
that Meta must fetch when Keloa sends an attachment; everything else is served to signed-in users.
"""
from __future__ import annotations

import mimetypes
import os
import secrets
from pathlib import Path

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer

_SALT = "keloa-public-media-v1"
_EXTENSIONS = {"image/jpeg": ".jpg", "audio/mpeg": ".mp3", "audio/mp4": ".m4a", "video/mp4": ".mp4",
               "text/plain": ".txt", "image/webp": ".webp"}


def root() -> Path:
    return Path(current_app.config["MEDIA_DIR"]).resolve()


def extension(content_type: str | None) -> str:
    base = (content_type or "").split(";")[0].strip().lower()
    return _EXTENSIONS.get(base) or mimetypes.guess_extension(base) or ".bin"


def save(data: bytes, content_type: str | None, folder: str = "attachments") -> str:
    """Write `data` under MEDIA_DIR/<folder>/ with a random name; returns the relative path."""
    name = f"{folder}/{secrets.token_hex(16)}{extension(content_type)}"
    path = resolve(name)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".part")
    tmp.write_bytes(data)
    tmp.chmod(0o600)  # customers' media: readable by Keloa's user only
    os.replace(tmp, path)  # readers never see a half-written file
    return name


def resolve(relative: str) -> Path:
    """The absolute path of a stored file; refuses anything that would leave MEDIA_DIR."""
    base = root()
    path = (base / relative).resolve()
    if not relative or os.path.isabs(relative) or not path.is_relative_to(base) or path == base:
        raise ValueError("path outside the media directory")
    return path


def delete(relative: str | None) -> None:
    if not relative:
        return
    try:
        resolve(relative).unlink(missing_ok=True)
    except (ValueError, OSError):
        pass  # already gone, or never ours: nothing to delete


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def public_url(relative: str, max_age: int = 3600) -> str:
    """An absolute URL anyone may fetch for `max_age` seconds (for Meta to download sent media)."""
    token = _serializer().dumps({"p": relative, "a": int(max_age)})
    return f"{current_app.config['PUBLIC_BASE_URL']}/m/{token}"


def read_public_token(token: str) -> str | None:
    """The relative path a public token names, or None if forged or expired."""
    try:
        data, signed_at = _serializer().loads(token, return_timestamp=True)
    except BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("p"), str):
        return None
    from datetime import datetime, timezone

    age = (datetime.now(timezone.utc) - signed_at).total_seconds()
    return data["p"] if age <= int(data.get("a", 0)) else None
