"""Logging set-up that never lets a secret through."""
from __future__ import annotations

import logging
import re

_SECRET = re.compile(r"(access_token|client_secret|fb_exchange_token|code|api_key|password)=([^&\s\"']+)", re.I)
_BEARER = re.compile(r"(Bearer\s+)[A-Za-z0-9._\-]+", re.I)
# Paths whose last part is a secret: invitation links (/invite/<token>) and signed media links
# (/m/<token>). deploy/nginx.conf redacts the same paths in nginx's access log.
_TOKEN_PATH = re.compile(r"(/(?:invite|m|reset)/)[^\s\"'?#]+", re.I)


def redact_path(path: str) -> str:
    """`/invite/[redacted]` for `/invite/<token>`, `/m/[redacted]` for `/m/<token>`, `/reset/[redacted]` for a
    password reset link; other paths as they are."""
    return _TOKEN_PATH.sub(r"\1[redacted]", path)


def redact(text: str) -> str:
    return redact_path(_BEARER.sub(r"\1[redacted]", _SECRET.sub(r"\1=[redacted]", text)))


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            try:
                record.msg = record.getMessage()
                record.args = ()
            except Exception:  # keep the record as it is rather than drop it
                return True
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        return True


def init_app(app) -> None:
    handler_filter = RedactingFilter()
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for handler in root.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(handler_filter)
    # urllib3 logs full URLs (with access_token) at DEBUG; keep it quiet.
    logging.getLogger("urllib3").setLevel(logging.WARNING)
