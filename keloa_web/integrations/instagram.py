"""Instagram Login (the Instagram API with Instagram Login): the authorization window through
Authlib, the code and token exchanges, and what graph.instagram.com says about the account.

Meta's pages this follows (sources in meta_sandbox/README.md, "Instagram Login"):

* the window is `https://www.instagram.com/oauth/authorize` with `client_id` (the *Instagram* app id),
  `redirect_uri`, `response_type=code`, `scope`, `state`; a refusal comes back as
  `error=access_denied&error_reason=user_denied&error_description=...`;
* `POST https://api.instagram.com/oauth/access_token` (form: client_id, client_secret,
  grant_type=authorization_code, redirect_uri, code) answers `{"data": [{"access_token", "user_id",
  "permissions"}]}` (older answers are flat), errors as `{"error_type", "code", "error_message"}`;
* `GET https://graph.instagram.com/access_token?grant_type=ig_exchange_token&client_secret=...&access_token=...`
  turns the one-hour token into a long-lived one (`expires_in` about 60 days);
* `GET /me?fields=user_id,username,...`: `user_id` is the professional account's id, the one webhooks
  carry as `entry.id`; `id` is the app-scoped id of the person.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app, session

from keloa_web.db import db, utcnow
from keloa_web.graph import GraphClient, GraphError, instagram_api

SCOPES = ("instagram_business_basic", "instagram_business_manage_messages")
PROFESSIONAL = {"BUSINESS", "MEDIA_CREATOR"}
ME_FIELDS = "user_id,username,name,account_type,profile_picture_url"
_SESSION_KEY = "instagram_connect"


def enabled(app=None) -> bool:
    cfg = (app or current_app).config
    return bool(cfg.get("INSTAGRAM_APP_ID") and cfg.get("INSTAGRAM_APP_SECRET"))


def _token_response(resp):
    """api.instagram.com's answers in OAuth 2's shape, for Authlib: the token of `data[0]` at the top;
    `{"error_type", "error_message"}` as `error` and `error_description`."""
    try:
        body = resp.json()
    except ValueError:
        return resp
    if isinstance(body, dict) and isinstance(body.get("data"), list) and body["data"]:
        body = dict(body["data"][0])
    if isinstance(body, dict) and "access_token" in body:
        body.setdefault("token_type", "bearer")
    elif isinstance(body, dict) and ("error_type" in body or "error_message" in body):
        body = {"error": str(body.get("error_type") or "OAuthException"),
                "error_description": str(body.get("error_message") or "")}
    resp._content = json.dumps(body).encode()
    return resp


def _compliance(oauth_session) -> None:
    oauth_session.register_compliance_hook("access_token_response", _token_response)


def init_app(app) -> None:
    """Registered beside Facebook Login on the app's Authlib registry (keloa_web/integrations/meta.py)."""
    cfg = app.config
    app.extensions["keloa_oauth"].register(
        "instagram",
        client_id=cfg["INSTAGRAM_APP_ID"],
        client_secret=cfg["INSTAGRAM_APP_SECRET"],
        authorize_url=cfg["INSTAGRAM_AUTHORIZE_URL"],
        access_token_url=cfg["INSTAGRAM_OAUTH_TOKEN_URL"],
        client_kwargs={"scope": ",".join(SCOPES), "token_endpoint_auth_method": "client_secret_post"},
        compliance_fix=_compliance,
    )


def client():
    return current_app.extensions["keloa_oauth"].instagram


def redirect_uri() -> str:
    return f"{current_app.config['PUBLIC_BASE_URL']}/integrations/instagram/callback"


@dataclass
class LongLivedToken:
    access_token: str = field(repr=False)
    scopes: list[str]
    issued_at: datetime
    expires_at: datetime


def granted(token: dict) -> list[str]:
    raw = token.get("permissions") or token.get("scope") or ""
    items = raw if isinstance(raw, list) else str(raw).replace(" ", ",").split(",")
    return [s.strip() for s in items if s and s.strip()]


def exchange_long_lived(short_token: str, scopes: list[str]) -> LongLivedToken:
    """The one-hour token for a long-lived one. Meta documents this exchange as a GET with the app
    secret in its query (graph.instagram.com/access_token); Keloa never logs URLs."""
    cfg = current_app.config
    graph = GraphClient.from_app(api="instagram")
    issued = utcnow()
    with db.released():
        body = graph.token_endpoint("access_token", {
            "grant_type": "ig_exchange_token", "client_secret": cfg["INSTAGRAM_APP_SECRET"],
            "access_token": short_token})
    if not isinstance(body.get("access_token"), str) or not body["access_token"]:
        raise GraphError(message="Instagram's answer held no long-lived token")
    return LongLivedToken(body["access_token"], scopes, issued, expires_at(issued, body))


def expires_at(issued: datetime, body: dict) -> datetime:
    try:
        seconds = int(body.get("expires_in") or 0)
    except (TypeError, ValueError):
        seconds = 0
    return issued + timedelta(seconds=seconds if seconds > 0 else 60 * 86400)


@dataclass
class Account:
    """The professional account a token belongs to, as graph.instagram.com's /me describes it."""

    ig_id: str
    app_scoped_id: str | None
    username: str
    name: str | None
    account_type: str | None
    picture_url: str | None

    @property
    def professional(self) -> bool:
        return self.account_type is None or self.account_type.upper() in PROFESSIONAL


def fetch_account(token: str) -> Account:
    api = instagram_api(token)
    with db.released():
        me = api.get("me", fields=ME_FIELDS + ",id")
    # user_id is the professional account's id, the one webhooks carry and Facebook Login stores;
    # id is scoped to the app and never identifies the channel.
    ig_id = str(me.get("user_id") or "")
    if not ig_id.isdigit():
        raise GraphError(message="Instagram's answer did not say which account this is (no user_id)")
    return Account(ig_id=ig_id, app_scoped_id=str(me["id"]) if me.get("id") else None,
                   username=str(me.get("username") or ""), name=me.get("name"),
                   account_type=me.get("account_type"), picture_url=me.get("profile_picture_url"))


# What the admin asked for on the Connect form (import past conversations), until the callback.
def remember_choice(backfill: bool) -> None:
    session[_SESSION_KEY] = {"backfill": bool(backfill)}


def take_choice() -> dict:
    return session.pop(_SESSION_KEY, None) or {}
