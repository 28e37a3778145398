"""Gunicorn's access log without secrets in paths: `logger_class` in gunicorn.conf.py.

The log format already leaves out query strings and referers; this logger also replaces the token
of an invitation link (`/invite/<token>`) or a signed media link (`/m/<token>`) with `[redacted]`,
whichever atom of the format shows the path.
"""
from __future__ import annotations

from gunicorn.glogging import Logger

from keloa_web.logs import redact_path


class AccessLogger(Logger):
    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        path = redact_path(environ.get("PATH_INFO") or "")
        atoms["U"] = path
        atoms["r"] = f"{environ.get('REQUEST_METHOD')} {path} {environ.get('SERVER_PROTOCOL')}"  # no query
        for referer in ("f", "{referer}i"):
            if referer in atoms:
                atoms[referer] = redact_path(atoms[referer] or "-")
        return atoms
