"""Facebook Login (Authlib), the signed-in Meta user kept server-side, and what Graph says about Pages.

The user token never reaches the browser: after the callback it lives encrypted in Redis for an hour
under a random key, and only that key goes into the (signed) session cookie.
"""
from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field

from authlib.integrations.flask_client import OAuth
from flask import current_app, session

from keloa_web import crypto
from keloa_web.db import db
from keloa_web.graph import GraphClient
from keloa_web.jobs import get_redis, meta_login_key

# decision 2 in shared/meta/README.md: exactly these, no more.
SCOPES = ("instagram_basic", "instagram_manage_messages", "pages_show_list", "pages_manage_metadata",
          "pages_messaging", "pages_read_engagement", "business_management")
# Page tasks Meta asks of the person whose Page token Keloa uses: "must be able to perform the
# MESSAGING and MODERATE Page tasks" (Messenger Platform overview). MESSAGING sends replies;
# MODERATE subscribes the Page to webhooks and reads customer profiles. MANAGE (full admin) covers
# both; Instagram-linked access names the same abilities PROFILE_PLUS_* (Messages, Community
# activity, Full control).
MESSAGING_TASKS = frozenset({"MESSAGING", "MANAGE", "PROFILE_PLUS_MESSAGING", "PROFILE_PLUS_FULL_CONTROL"})
MODERATE_TASKS = frozenset({"MODERATE", "MANAGE", "PROFILE_PLUS_MODERATE", "PROFILE_PLUS_FULL_CONTROL"})
TASK_NEEDS = (
    (MESSAGING_TASKS, "Messages (MESSAGING), to send replies"),
    (MODERATE_TASKS, "Community activity (MODERATE), to subscribe Keloa to the Page's messages and read "
                     "customers' profiles"),
)
# Page-object webhook fields (decision 3). `messages` includes echoes; `messaging_seen` is an
# Instagram-object name that Meta refuses at Page level.
WEBHOOK_FIELDS = ("messages", "message_reactions", "messaging_postbacks", "messaging_referrals", "message_reads")
ACCOUNT_FIELDS = ("id,name,access_token,tasks,"
                  "instagram_business_account{id,username,name,profile_picture_url},connected_instagram_account")
LOGIN_TTL = 3600
_SESSION_KEY = "meta_login"


def init_app(app) -> None:
    """One OAuth registry per app, so that each app (and each test) uses its own Meta settings."""
    oauth = OAuth(app)
    cfg = app.config
    oauth.register(
        "meta",
        client_id=cfg["META_APP_ID"],
        client_secret=cfg["META_APP_SECRET"],
        authorize_url=cfg["META_AUTHORIZE_URL"],
        access_token_url=cfg["META_OAUTH_TOKEN_URL"],
        api_base_url=f"{cfg['GRAPH_API_BASE']}/{cfg['GRAPH_API_VERSION']}/",
        client_kwargs={"scope": ",".join(SCOPES), "token_endpoint_auth_method": "client_secret_post"},
    )
    app.extensions["keloa_oauth"] = oauth


def client():
    return current_app.extensions["keloa_oauth"].meta


def enabled(app=None) -> bool:
    """Facebook Login is configured (an operator may configure only Instagram Login)."""
    cfg = (app or current_app).config
    return bool(cfg.get("META_APP_ID") and cfg.get("META_APP_SECRET"))


def redirect_uri() -> str:
    return f"{current_app.config['PUBLIC_BASE_URL']}/integrations/meta/callback"


def exchange_long_lived(short_token: str) -> str:
    """Trade the dialog's short-lived user token for a ~60-day one (Page tokens from it never expire)."""
    cfg = current_app.config
    # A POST, so that neither the app secret nor the token is in a URL someone logs.
    with db.released():
        body = GraphClient.from_app().post("oauth/access_token", data={
            "grant_type": "fb_exchange_token", "client_id": cfg["META_APP_ID"],
            "client_secret": cfg["META_APP_SECRET"], "fb_exchange_token": short_token})
    return body["access_token"]


@dataclass
class MetaLogin:
    """The Meta user who just signed in through the dialog."""

    user_id: str
    name: str
    token: str = field(repr=False)


def remember_login(login: MetaLogin) -> None:
    forget_login()  # a new sign-in replaces the previous one
    key = secrets.token_urlsafe(24)
    record = {"user_id": login.user_id, "name": login.name, "token": crypto.encrypt(login.token)}
    get_redis().set(meta_login_key(key), json.dumps(record), ex=LOGIN_TTL)
    session[_SESSION_KEY] = key


def current_login() -> MetaLogin | None:
    key = session.get(_SESSION_KEY)
    raw = get_redis().get(meta_login_key(key)) if key else None
    if not raw:
        return None
    record = json.loads(raw)
    token = crypto.decrypt(record["token"])
    return MetaLogin(record["user_id"], record["name"], token) if token else None


def forget_login() -> None:
    key = session.pop(_SESSION_KEY, None)
    if key:
        get_redis().delete(meta_login_key(key))


@dataclass
class PageInfo:
    """A Page from /me/accounts with its Instagram account, as the picker and the checks see it."""

    id: str
    name: str
    tasks: list[str]
    token: str | None = field(repr=False)
    ig_id: str | None = None
    ig_username: str | None = None
    ig_name: str | None = None
    ig_picture_url: str | None = None
    consumer_ig_id: str | None = None  # an Instagram account is linked but is not professional

    @classmethod
    def from_graph(cls, item: dict) -> "PageInfo":
        ig = item.get("instagram_business_account") or {}
        connected = item.get("connected_instagram_account") or {}
        return cls(
            id=str(item["id"]), name=item.get("name") or "", tasks=list(item.get("tasks") or []),
            token=item.get("access_token"), ig_id=ig.get("id"), ig_username=ig.get("username"),
            ig_name=ig.get("name"), ig_picture_url=ig.get("profile_picture_url"),
            consumer_ig_id=None if ig else connected.get("id"),
        )

    @property
    def missing_tasks(self) -> list[str]:
        """What the person's role on this Page lacks for Keloa, in the words of Meta's role settings."""
        return [need for tasks, need in TASK_NEEDS if not tasks & set(self.tasks)]

    @property
    def can_message(self) -> bool:
        return not self.missing_tasks


def fetch_pages(user_token: str) -> list[PageInfo]:
    """Every Page the user shared with the app, following Graph's paging."""
    graph = GraphClient.from_app()
    with db.released():
        return [PageInfo.from_graph(item) for item in
                graph.paginate("me/accounts", user_token, fields=ACCOUNT_FIELDS, limit=100)]


def declined_scopes(user_token: str) -> list[str]:
    """Scopes Keloa needs that the user did not grant (declined, expired or never asked)."""
    with db.released():
        body = GraphClient.from_app().get("me/permissions", user_token)
    granted = {p.get("permission") for p in body.get("data", []) if p.get("status") == "granted"}
    return [scope for scope in SCOPES if scope not in granted]
