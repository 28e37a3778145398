"""Keloa settings, all read from the environment (a `.env` file is loaded if present)."""
from __future__ import annotations

import math
import os
from collections import Counter
from datetime import timedelta
from pathlib import Path

from dotenv import load_dotenv

BASE_DIR = Path(__file__).resolve().parent
load_dotenv(BASE_DIR / ".env")

DEFAULT_SECRET_KEY = "dev-insecure-change-me"
# Words of the placeholders people paste from examples; a random key never contains them.
_PLACEHOLDER_WORDS = ("change", "secret", "example", "password", "default", "insecure", "replace", "dummy")
INSECURE_TEST_SETUP = "KELOA_INSECURE_TEST_SETUP"


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
        # The Instagram API with Instagram Login (its own app id and secret, under the app's Instagram
        # product): accounts without a Facebook Page. Empty id or secret: that way of connecting is off.
        self.INSTAGRAM_APP_ID = _env("INSTAGRAM_APP_ID")
        self.INSTAGRAM_APP_SECRET = _env("INSTAGRAM_APP_SECRET")
        self.INSTAGRAM_AUTHORIZE_URL = _env("INSTAGRAM_AUTHORIZE_URL", "https://www.instagram.com/oauth/authorize")
        self.INSTAGRAM_OAUTH_TOKEN_URL = _env("INSTAGRAM_OAUTH_TOKEN_URL", "https://api.instagram.com/oauth/access_token")
        self.INSTAGRAM_GRAPH_BASE = _env("INSTAGRAM_GRAPH_BASE", "https://graph.instagram.com").rstrip("/")
        # Hosts Keloa downloads customer media from (Meta's CDN). Comma separated, host[:port].
        self.META_CDN_HOSTS = [
            h.strip()
            for h in _env(
                "META_CDN_HOSTS", "lookaside.fbsbx.com,scontent.cdninstagram.com,cdninstagram.com,fbcdn.net"
            ).split(",")
            if h.strip()
        ]
        self.PUBLIC_BASE_URL = _env("PUBLIC_BASE_URL", "http://127.0.0.1:5000").rstrip("/")
        # Set by `make run` when Keloa talks to the bundled Meta sandbox: the first screens then say
        # how to try Keloa with it (which Meta user to continue as, where to play the customer).
        self.SANDBOX_URL = _env("KELOA_SANDBOX_URL", "").rstrip("/")

        # Window policy (see keloa_web/window.py), Meta's documented rule by default: untagged for
        # 24 h after the customer's last message, then tagged HUMAN_AGENT by a person until day 7.
        # Hours from that message; HUMAN_AGENT_HOURS=0 means no end (for terms that differ).
        self.WINDOW_UNTAGGED_HOURS = _int("WINDOW_UNTAGGED_HOURS", 24)
        self.WINDOW_HUMAN_AGENT_HOURS = _int("WINDOW_HUMAN_AGENT_HOURS", 7 * 24)
        # A customer's first message after clicking a Click-to-Direct ad opens a standard window of
        # "up to 7 days from that message" (Meta's messaging policy); 0 turns this off.
        self.WINDOW_AD_HOURS = _int("WINDOW_AD_HOURS", 7 * 24)

        # AI agents (keloa_web/agents/): wait this long after a customer message before answering,
        # so that a burst of messages gets one answer.
        self.AI_REPLY_DELAY_SECONDS = _int("AI_REPLY_DELAY_SECONDS", 3)

        # Live push (keloa_web/live/): open streams each web process serves (beyond them a tab polls),
        # how long one stream lasts before the browser reconnects, and the heartbeat between looks.
        self.LIVE_STREAMS_PER_PROCESS = _int("LIVE_STREAMS_PER_PROCESS", 25)
        self.LIVE_STREAMS_PER_USER = _int("LIVE_STREAMS_PER_USER", 5)  # in each process
        self.LIVE_STREAM_SECONDS = _int("LIVE_STREAM_SECONDS", 300)
        self.LIVE_HEARTBEAT_SECONDS = _int("LIVE_HEARTBEAT_SECONDS", 15)

        # Email (notification digests; SMTP on loopback in `make run` and the tests)
        self.MAIL_HOST = os.environ.get("MAIL_HOST", "")
        self.MAIL_PORT = _int("MAIL_PORT", 25)
        self.MAIL_USERNAME = os.environ.get("MAIL_USERNAME", "")
        self.MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD", "")
        self.MAIL_STARTTLS = os.environ.get("MAIL_STARTTLS", "0") == "1"
        self.MAIL_TLS = os.environ.get("MAIL_TLS", "0") == "1"  # implicit TLS (port 465) instead
        self.MAIL_FROM = os.environ.get("MAIL_FROM", "Keloa <keloa@localhost>")
        # A notification not seen in a tab for this long goes into an email; at most one email per
        # teammate per DIGEST_MINUTES.
        self.NOTIFY_EMAIL_AFTER_SECONDS = _int("NOTIFY_EMAIL_AFTER_SECONDS", 120)
        self.NOTIFY_DIGEST_MINUTES = _int("NOTIFY_DIGEST_MINUTES", 5)

        # Limits
        self.WEBHOOK_MAX_BYTES = _int("WEBHOOK_MAX_BYTES", 1024 * 1024)
        self.MEDIA_MAX_BYTES = _int("MEDIA_MAX_BYTES", 25 * 1024 * 1024)
        # One customer file's whole download (redirects included) may take this long.
        self.MEDIA_DOWNLOAD_SECONDS = _int("MEDIA_DOWNLOAD_SECONDS", 30)
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
        # A private test set-up of the production path (the Meta sandbox over plain http): allows
        # http:// URLs and a session cookie without Secure in production, with a warning at every
        # start. Never a weak SECRET_KEY or a missing setting.
        self.KELOA_INSECURE_TEST_SETUP = _bool(INSECURE_TEST_SETUP, False)

    @property
    def is_production(self) -> bool:
        return self.KELOA_ENV == "production"

    # Settings that are URLs Keloa sends people or secrets to: https in production.
    HTTPS_SETTINGS = ("PUBLIC_BASE_URL", "GRAPH_API_BASE", "META_AUTHORIZE_URL", "INSTAGRAM_AUTHORIZE_URL",
                      "INSTAGRAM_OAUTH_TOKEN_URL", "INSTAGRAM_GRAPH_BASE")

    def problems(self) -> list[str]:
        """Settings that make a production start unsafe, each naming the variable."""
        missing = []
        if not self.is_production:
            return missing
        weak = secret_key_weakness(self.SECRET_KEY)
        if weak:
            missing.append(f"SECRET_KEY must be set to a random value of at least 32 characters ({weak}); "
                           "generate one with: python3 -c 'import secrets; print(secrets.token_urlsafe(48))'")
        facebook = [n for n in ("META_APP_ID", "META_APP_SECRET") if not os.environ.get(n)]
        instagram = [n for n in ("INSTAGRAM_APP_ID", "INSTAGRAM_APP_SECRET") if not os.environ.get(n)]
        if len(facebook) == 2 and len(instagram) == 2:  # at least one way of connecting
            missing.append("META_APP_ID and META_APP_SECRET (Facebook Login), or INSTAGRAM_APP_ID and "
                           "INSTAGRAM_APP_SECRET (Instagram Login), are not set")
        for login, names in (("Facebook Login", facebook), ("Instagram Login", instagram)):
            if len(names) == 1:  # half a pair: the login cannot work
                missing.append(f"{names[0]} is not set ({login} needs the app's id and secret)")
        for name in ("META_VERIFY_TOKEN", "REDIS_URL", "PUBLIC_BASE_URL"):
            if not os.environ.get(name):
                missing.append(f"{name} is not set")
        if not self.KELOA_INSECURE_TEST_SETUP:
            for name in self.HTTPS_SETTINGS:
                if name == "PUBLIC_BASE_URL" and not os.environ.get(name):
                    continue  # already said: not set
                if not getattr(self, name).lower().startswith("https://"):
                    missing.append(f"{name} must start with https:// (it is {getattr(self, name)!r}); "
                                   f"{INSECURE_TEST_SETUP}=1 allows http:// for a private test set-up only")
        if not self.SESSION_COOKIE_SECURE and not self.KELOA_INSECURE_TEST_SETUP:
            missing.append("SESSION_COOKIE_SECURE must not be turned off in production: the sign-in cookie "
                           f"would also travel over plain http; {INSECURE_TEST_SETUP}=1 allows it for a private "
                           "test set-up only")
        return missing

    def warnings(self) -> list[str]:
        """What a production start allows only because of the test set-up escape hatch."""
        if not (self.is_production and self.KELOA_INSECURE_TEST_SETUP):
            return []
        allowed = [f"{name}={getattr(self, name)}" for name in self.HTTPS_SETTINGS
                   if not getattr(self, name).lower().startswith("https://")]
        if not self.SESSION_COOKIE_SECURE:
            allowed.append("SESSION_COOKIE_SECURE=0")
        if not allowed:
            return [f"{INSECURE_TEST_SETUP} is set but no setting uses plain http: unset it."]
        return [f"{INSECURE_TEST_SETUP} is set: this production start allows plain http ({', '.join(allowed)}). "
                "Use it only for a private test set-up, never with real customers' messages."]

    def as_flask(self) -> dict:
        return {k: v for k, v in vars(self).items() if k.isupper()}


def secret_key_weakness(key: str) -> str | None:
    """Why `key` is no production SECRET_KEY, or None. Catches short keys, the development default,
    placeholders, and keys of few characters, repeats or runs (`aaaa…`, `abab…`, `1234…`)."""
    if not key or key == DEFAULT_SECRET_KEY:
        return "it is not set" if not key else "it is the development default"
    if len(key) < 32:
        return f"it has {len(key)}"
    lowered = key.lower()
    if any(word in lowered for word in _PLACEHOLDER_WORDS):
        return "it looks like a placeholder"
    if len(set(key)) < 10:
        return f"it uses only {len(set(key))} different character{'s' if len(set(key)) != 1 else ''}"
    if any(key == (key[:period] * (len(key) // period + 1))[:len(key)] for period in range(1, len(key) // 2 + 1)):
        return "it repeats a pattern"
    steps = sum(1 for a, b in zip(key, key[1:]) if abs(ord(a) - ord(b)) <= 1)
    if steps * 2 > len(key) - 1:
        return "it is mostly runs of neighbouring characters"
    counts = Counter(key)
    bits = -sum(n * math.log2(n / len(key)) for n in counts.values())
    if bits < 64:
        return "it has too little randomness"
    return None
