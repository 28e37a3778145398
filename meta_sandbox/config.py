"""Settings of the Meta sandbox: defaults, environment variables and config-dict overrides."""
import os

# name -> (default, type)
DEFAULTS = {
    "SANDBOX_APP_ID": ("sandbox-app-id", str),
    "SANDBOX_APP_SECRET": ("sandbox-app-secret", str),
    "SANDBOX_APP_NAME": ("Keloa (sandbox app)", str),
    "SANDBOX_VERIFY_TOKEN": ("sandbox-verify-token", str),
    # The app's Instagram product (Instagram API with Instagram Login): its own id and secret.
    "SANDBOX_IG_APP_ID": ("sandbox-ig-app-id", str),
    "SANDBOX_IG_APP_SECRET": ("sandbox-ig-app-secret", str),
    "SANDBOX_WEBHOOK_URL": ("", str),
    "SANDBOX_DEAUTH_URL": ("", str),
    "SANDBOX_PUBLIC_URL": ("http://127.0.0.1:8081", str),
    "SANDBOX_GRAPH_VERSION": ("v25.0", str),
    "SANDBOX_REDIRECT_URIS": ("", str),  # comma list of allowed redirect URIs; empty = any
    "SANDBOX_WINDOW_HOURS": (24.0, float),
    "SANDBOX_HUMAN_AGENT_DAYS": (7.0, float),
    "SANDBOX_MEDIA_TTL_SECONDS": (3 * 86400, float),
    "SANDBOX_STORY_TTL_SECONDS": (86400, float),
    "SANDBOX_PROFILE_PIC_TTL_SECONDS": (3 * 86400, float),
    "SANDBOX_RATE_LIMIT_PER_SECOND": (100, int),
    "SANDBOX_MEDIA_RATE_LIMIT_PER_SECOND": (10, int),
    "SANDBOX_CONVERSATIONS_RATE_PER_SECOND": (2, int),
    "SANDBOX_DELIVERY_TIMEOUT": (5.0, float),
    "SANDBOX_RETRY_BASE_SECONDS": (1.0, float),
    "SANDBOX_RETRY_MAX_SECONDS": (300.0, float),
    "SANDBOX_UNSUBSCRIBE_AFTER_SECONDS": (3600.0, float),
    "SANDBOX_MEDIA_FETCH_TIMEOUT": (10.0, float),
    "SANDBOX_SHORT_TOKEN_SECONDS": (3600, int),
    "SANDBOX_LONG_TOKEN_SECONDS": (5183944, int),
    "SANDBOX_IG_REFRESH_MIN_AGE_SECONDS": (86400, int),  # Meta: a token refreshes once 24 hours old
    "SANDBOX_CODE_TTL_SECONDS": (3600, int),
    "SANDBOX_CREATOR_NEEDS_CONVERSATIONS_CALL": (True, bool),
    "SANDBOX_VERIFY_ON_SUBSCRIBE": (True, bool),
    "SANDBOX_MAIL_DIR": ("", str),  # the .eml files `make run`'s local SMTP server keeps (the /mail page)
}

# Runtime switches changed through /_sandbox/faults (not env).
DEFAULT_FAULTS = {
    "deliveries": True,          # False = pause: events queue up and go out when switched on
    "duplicates": False,         # every POST is sent twice
    "shuffle": False,            # events gathered in a window are sent out of order
    "shuffle_window_ms": 300,
    "batch": False,              # several entries in one POST
    "batch_window_ms": 300,
    "batch_max": 50,
    "read_without_ids": "sometimes",  # never | sometimes | always: read receipts without sender/recipient
    "share_style": "ig_post",    # ig_post | both | share  (post-share attachment types)
    "refused_message_fields": [],  # message fields Graph answers "(#100) Tried accessing nonexisting field"
    "failing_conversations": [],   # customer keys whose conversation node answers "(#1) An unknown error occurred"
    "ig_refresh_fails": False,   # graph.instagram.com's refresh_access_token answers a 500 (code 2)
    "ig_refresh_refused": False,  # ... answers a 400 refusal of this token's renewal (code 100)
    "edit_style": "full",        # full | bare: edits with text and num_edit, or as seen in real deliveries,
                                 # {"mid", "num_edit": 0} with no text
}


def _coerce(value, typ):
    if typ is bool:
        if isinstance(value, bool):
            return value
        return str(value).strip().lower() in ("1", "true", "yes", "on")
    return typ(value)


def load_settings(config=None):
    """Defaults <- environment <- config dict (highest)."""
    config = config or {}
    out = {}
    for name, (default, typ) in DEFAULTS.items():
        value = default
        if name in os.environ:
            value = os.environ[name]
        if name in config:
            value = config[name]
        out[name] = _coerce(value, typ)
    out["SANDBOX_PUBLIC_URL"] = out["SANDBOX_PUBLIC_URL"].rstrip("/")
    return out


def update_settings(settings, changes):
    """Apply a dict of changes; unknown keys raise KeyError."""
    for name, value in changes.items():
        if name not in DEFAULTS:
            raise KeyError(name)
        settings[name] = _coerce(value, DEFAULTS[name][1])
    settings["SANDBOX_PUBLIC_URL"] = settings["SANDBOX_PUBLIC_URL"].rstrip("/")
