"""Flask's signed-cookie session, with its serializer built once per key set instead of per request.

Flask builds a new URLSafeTimedSerializer (and its signer) for every request, cookie or not; the
webhook endpoint, which never uses the session, paid for it on each of Meta's calls (measured with
bench/bench_intake.py). Rotating SECRET_KEY or SECRET_KEY_FALLBACKS still takes effect: the cache
is keyed by them.
"""
from __future__ import annotations

from flask.sessions import SecureCookieSessionInterface, SessionInterface as FlaskSessionInterface


class SessionInterface(SecureCookieSessionInterface):
    def __init__(self) -> None:
        self._cached: tuple[tuple, object] | None = None

    def get_signing_serializer(self, app):
        key = (app.secret_key, tuple(app.config.get("SECRET_KEY_FALLBACKS") or ()))
        cached = self._cached
        if cached is not None and cached[0] == key:
            return cached[1]
        serializer = super().get_signing_serializer(app)
        self._cached = (key, serializer)
        return serializer


class NoSessions(FlaskSessionInterface):
    """For Meta's callback app: no cookie is read or set; touching `session` there is an error."""

    def open_session(self, app, request):
        return self.make_null_session(app)

    def save_session(self, app, session, response) -> None:
        return None
