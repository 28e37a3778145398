"""Keloa settings, all read from the environment (a `.env` file is loaded if present)."""
from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

from dotenv import load_dotenv

BASE_DIR = Path(__file__).resolve().parent
load_dotenv(BASE_DIR / ".env")

DEFAULT_SECRET_KEY = "dev-insecure-change-me"


def _env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return int(raw) if raw not in (None, "") else default


def _bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw in (None, ""):
        return default
    return raw.strip().lower() in ("1", "true", "yes", "on")


class Config:
    """Settings for one Keloa process. Instantiate to read the current environment."""

    def __init__(self) -> None:
        self.KELOA_ENV = _env("KELOA_ENV", "development")
        self.INSTANCE_DIR = Path(_env("KELOA_INSTANCE_DIR", str(BASE_DIR / "instance")))
        self.SECRET_KEY = _env("SECRET_KEY", DEFAULT_SECRET_KEY)
        self.DATABASE_URL = _env("DATABASE_URL", f"sqlite:///{self.INSTANCE_DIR / 'keloa.db'}")
        # Empty means: start the embedded redis-server under instance/ (see keloa_web/redis_server.py).
        self.REDIS_URL = _env("REDIS_URL", "")
        self.MEDIA_DIR = Path(_env("MEDIA_DIR", str(self.INSTANCE_DIR / "media")))

        # Meta app and Graph API. Defaults point at the Meta sandbox started by `make run`.
        self.META_APP_ID = _env("META_APP_ID")
        self.META_APP_SECRET = _env("META_APP_SECRET")
        self.META_VERIFY_TOKEN = _env("META_VERIFY_TOKEN")
        self.GRAPH_API_BASE = _env("GRAPH_API_BASE", "https://graph.facebook.com").rstrip("/")
        self.GRAPH_API_VERSION = _env("GRAPH_API_VERSION", "v25.0")
        self.META_AUTHORIZE_URL = _env(
            "META_AUTHORIZE_URL", f"https://www.facebook.com/{self.GRAPH_API_VERSION}/dialog/oauth"
        )
        self.GRAPH_TIMEOUT_SECONDS = float(_env("GRAPH_TIMEOUT_SECONDS", "10"))
        # Hosts Keloa downloads customer media from (Meta's CDN). Comma separated, host[:port].
        self.META_CDN_HOSTS = [
            h.strip()
            for h in _env(
                "META_CDN_HOSTS", "lookaside.fbsbx.com,scontent.cdninstagram.com,cdninstagram.com,fbcdn.net"
            ).split(",")
            if h.strip()
        ]
        self.PUBLIC_BASE_URL = _env("PUBLIC_BASE_URL", "http://127.0.0.1:5000").rstrip("/")

        # Window policy (see keloa_web/window.py). Hours; HUMAN_AGENT_HOURS=0 means unlimited.
        self.WINDOW_UNTAGGED_HOURS = _int("WINDOW_UNTAGGED_HOURS", 7 * 24)
        self.WINDOW_HUMAN_AGENT_HOURS = _int("WINDOW_HUMAN_AGENT_HOURS", 0)

        # AI agents (keloa_web/agents/): wait this long after a customer message before answering,
        # so that a burst of messages gets one answer.
        self.AI_REPLY_DELAY_SECONDS = _int("AI_REPLY_DELAY_SECONDS", 3)

        # Limits
        self.WEBHOOK_MAX_BYTES = _int("WEBHOOK_MAX_BYTES", 1024 * 1024)
        self.MEDIA_MAX_BYTES = _int("MEDIA_MAX_BYTES", 25 * 1024 * 1024)
        self.UPLOAD_MAX_BYTES = _int("UPLOAD_MAX_BYTES", 25 * 1024 * 1024)
        # Failed sign-ins from one address for one email (3 times as many over all emails) before
        # each further attempt from there waits 1 s, 2 s, 4 s… up to 15 minutes (accounts/passwords.py).
        self.LOGIN_RATE_LIMIT = _int("LOGIN_RATE_LIMIT", 10)
        self.SEND_RATE_PER_SECOND = _int("SEND_RATE_PER_SECOND", 90)
        # Sends (keloa_web/sends/): Meta allows 10 audio/video sends per second per account.
        self.SEND_MEDIA_RATE_PER_SECOND = _int("SEND_MEDIA_RATE_PER_SECOND", 9)
        self.SEND_MAX_ATTEMPTS = _int("SEND_MAX_ATTEMPTS", 5)
        # Drain jobs sending one account's new replies at once (each holds a worker while it works).
        self.SEND_DRAINS_PER_ACCOUNT = _int("SEND_DRAINS_PER_ACCOUNT", 2)
        self.SEND_RETRY_BASE_SECONDS = float(_env("SEND_RETRY_BASE_SECONDS", "2"))
        self.SEND_RETRY_MAX_SECONDS = float(_env("SEND_RETRY_MAX_SECONDS", "600"))
        self.AI_MAX_REPLIES_PER_HOUR = _int("AI_MAX_REPLIES_PER_HOUR", 10)

        # Sign-in sessions (keloa_web/accounts/user_sessions.py) end after this long without a
        # request, and this long after signing in whatever happens; Flask refuses older cookies too.
        self.SESSION_IDLE_MINUTES = _int("SESSION_IDLE_MINUTES", 12 * 60)
        self.SESSION_MAX_DAYS = _int("SESSION_MAX_DAYS", 14)
        self.PERMANENT_SESSION_LIFETIME = timedelta(days=self.SESSION_MAX_DAYS)
        self.SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", self.is_production)
        self.SESSION_COOKIE_HTTPONLY = True
        self.SESSION_COOKIE_SAMESITE = "Lax"
        self.MAX_CONTENT_LENGTH = self.UPLOAD_MAX_BYTES + 1024 * 1024
        self.WTF_CSRF_TIME_LIMIT = None
        self.TESTING = _bool("KELOA_TESTING", False)

    @property
    def is_production(self) -> bool:
        return self.KELOA_ENV == "production"

    def problems(self) -> list[str]:
        """Settings that make a production start unsafe, each naming the variable."""
        missing = []
        if not self.is_production:
            return missing
        if self.SECRET_KEY in ("", DEFAULT_SECRET_KEY) or len(self.SECRET_KEY) < 32:
            missing.append("SECRET_KEY must be set to a random value of at least 32 characters")
        for name in ("META_APP_ID", "META_APP_SECRET", "META_VERIFY_TOKEN", "REDIS_URL", "PUBLIC_BASE_URL"):
            if not os.environ.get(name):
                missing.append(f"{name} is not set")
        return missing

    def as_flask(self) -> dict:
        return {k: v for k, v in vars(self).items() if k.isupper()}
