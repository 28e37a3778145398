"""The Graph API over HTTP, at a configurable base URL (Meta, or the Meta sandbox).

Every call goes through `GraphClient`; errors come back as `GraphError` with Meta's code and
subcode so callers can decide (reconnect, retry later, refuse). Tokens go in the Authorization
header and are never logged: log lines carry the path and Meta's error, nothing else.

Two APIs answer for Instagram accounts: graph.facebook.com with a Page token (Facebook Login) and
graph.instagram.com with the account's own token (Instagram Login). `for_channel` gives the one
a channel uses, with its token and the node its calls start from; every job calls through it.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
from dataclasses import dataclass, field
from typing import Any, Iterator
from urllib.parse import urlsplit

import requests
from flask import current_app

log = logging.getLogger(__name__)

TOKEN_SUBCODES = {458, 459, 460, 463, 464, 467, 492}
RATE_LIMIT_CODES = {4, 17, 32, 613, 80001, 80002, 80006}
OUTSIDE_WINDOW_SUBCODES = {2534022, 2018278, 2018065}


@dataclass
class GraphError(Exception):
    message: str
    code: int | None = None
    subcode: int | None = None
    status: int | None = None
    type: str | None = None
    user_message: str | None = None
    retry_after: float | None = None

    def __str__(self) -> str:
        parts = [self.message]
        if self.code is not None:
            parts.append(f"(code {self.code}{f'/{self.subcode}' if self.subcode else ''})")
        return " ".join(parts)

    @property
    def token_invalid(self) -> bool:
        return self.code == 190 or (self.code in (102, 10, 200) and self.subcode in TOKEN_SUBCODES)

    @property
    def rate_limited(self) -> bool:
        return self.code in RATE_LIMIT_CODES

    @property
    def outside_window(self) -> bool:
        return self.code == 10 and self.subcode in OUTSIDE_WINDOW_SUBCODES

    @property
    def dm_access_off(self) -> bool:
        return self.code == 200 and self.subcode == 2534041

    @property
    def not_thread_owner(self) -> bool:
        """Conversation Routing gave the thread to another app. Meta's pages name no code for it;
        recognised by a permission error (10) that speaks of thread ownership or control."""
        text = (self.message or "").lower()
        return self.code == 10 and ("thread owner" in text or "thread control" in text)

    @property
    def transient(self) -> bool:
        """Worth retrying as is: Meta's 5xx, 'unknown error', or the network."""
        return (self.status or 0) >= 500 or self.code in (1, 2)


class GraphUnavailable(GraphError):
    """The request never reached Graph (connection refused, DNS, connect timeout): safe to retry."""


class GraphTimeout(GraphError):
    """The request left but no answer came: Graph may or may not have acted on it."""


class GraphClient:
    def __init__(self, base: str, version: str, timeout: float = 10.0, app_secret: str | None = None):
        self.base = base.rstrip("/")
        self.version = version
        self.timeout = timeout
        self.app_secret = app_secret
        self.http = requests.Session()

    @classmethod
    def from_app(cls, app=None, api: str = "facebook") -> "GraphClient":
        """The app's client for graph.facebook.com, or with api="instagram" for graph.instagram.com
        (no appsecret_proof there: Meta documents it for Facebook Login's tokens only)."""
        app = app or current_app
        key = "keloa_graph" if api == "facebook" else "keloa_graph_instagram"
        client = app.extensions.get(key)
        if client is None:
            cfg = app.config
            if api == "facebook":
                client = cls(cfg["GRAPH_API_BASE"], cfg["GRAPH_API_VERSION"], cfg["GRAPH_TIMEOUT_SECONDS"],
                             cfg.get("META_APP_SECRET"))
            else:
                client = cls(cfg["INSTAGRAM_GRAPH_BASE"], cfg["GRAPH_API_VERSION"], cfg["GRAPH_TIMEOUT_SECONDS"])
            app.extensions[key] = client
        return client

    def url(self, path: str) -> str:
        return f"{self.base}/{self.version}/{path.lstrip('/')}"

    def _auth(self, token: str | None, params: dict | None) -> tuple[dict, dict]:
        """(query parameters, headers). The token goes in the Authorization header, never in the
        URL, which proxies and servers log; appsecret_proof (an HMAC of it, useless alone) stays a
        parameter as Graph wants it."""
        params = {k: v for k, v in (params or {}).items() if k != "access_token"}
        headers = {}
        if token:
            headers["Authorization"] = f"Bearer {token}"
            if self.app_secret:
                params["appsecret_proof"] = hmac.new(
                    self.app_secret.encode(), token.encode(), hashlib.sha256).hexdigest()
        return params, headers

    def request(self, method: str, path: str, token: str | None = None, params: dict | None = None,
                json: Any = None, data: dict | None = None, url: str | None = None) -> dict:
        target = url or self.url(path)
        query, headers = self._auth(token, params)
        try:
            resp = self.http.request(method, target, params=query, headers=headers, json=json, data=data,
                                     timeout=self.timeout)
        except requests.ConnectTimeout as exc:
            raise GraphUnavailable(f"Could not reach Graph: {type(exc).__name__}") from None
        except requests.Timeout:
            raise GraphTimeout(f"Graph did not answer in {self.timeout:g} s") from None
        except requests.RequestException as exc:  # a connection error, or a broken answer
            raise GraphUnavailable(f"Could not reach Graph: {type(exc).__name__}") from None
        return self._parse(method, path, resp)

    def token_endpoint(self, path: str, params: dict) -> dict:
        """GET one of graph.instagram.com's unversioned token endpoints (access_token,
        refresh_access_token), which Meta documents with the token and secret in the query."""
        try:
            resp = self.http.get(f"{self.base}/{path}", params=params, timeout=self.timeout)
        except requests.Timeout:
            raise GraphTimeout(f"Graph did not answer in {self.timeout:g} s") from None
        except requests.RequestException as exc:
            raise GraphUnavailable(f"Could not reach Graph: {type(exc).__name__}") from None
        return self._parse("GET", path, resp)

    def _parse(self, method: str, path: str, resp: requests.Response) -> dict:
        try:
            body = resp.json()
        except ValueError:
            body = None
        if resp.ok and not (isinstance(body, dict) and "error" in body):
            return body if isinstance(body, dict) else {"data": body}
        err = (body or {}).get("error", {}) if isinstance(body, dict) else {}
        error = GraphError(
            message=str(err.get("message") or f"HTTP {resp.status_code}"),
            code=_int(err.get("code")), subcode=_int(err.get("error_subcode")), status=resp.status_code,
            type=err.get("type"), user_message=err.get("error_user_msg"),
            retry_after=_retry_after(resp),
        )
        log.warning("Graph %s %s failed: %s", method, urlsplit(path).path, error)
        raise error

    def get(self, path: str, token: str | None = None, **params) -> dict:
        return self.request("GET", path, token, params=params)

    def post(self, path: str, token: str | None = None, json: Any = None, data: dict | None = None,
             **params) -> dict:
        return self.request("POST", path, token, params=params, json=json, data=data)

    def delete(self, path: str, token: str | None = None, **params) -> dict:
        return self.request("DELETE", path, token, params=params)

    def paginate(self, path: str, token: str, limit_pages: int = 50, **params) -> Iterator[dict]:
        """Yield `data` items across pages, following `paging.next` only on the Graph host."""
        body = self.get(path, token, **params)
        for _ in range(limit_pages):
            yield from body.get("data", [])
            nxt = (body.get("paging") or {}).get("next")
            if not nxt or urlsplit(nxt).netloc != urlsplit(self.base).netloc:
                return
            # `next` carries the token in its query: it is taken out and sent in the header again.
            query = {k: v for k, v in _query(nxt) if k not in ("access_token", "appsecret_proof")}
            body = self.request("GET", urlsplit(nxt).path, token, params=query, url=nxt.split("?", 1)[0])


@dataclass(frozen=True)
class ChannelApi:
    """Where one channel's calls go: the Graph host of its login, its token, and the node that sends,
    lists conversations and holds the webhook subscription (the Page, or the account itself, `me`).
    A value: built inside a request or job, used after the database session is released."""

    graph: GraphClient
    token: str | None = field(repr=False)
    node: str
    login: str

    @property
    def messages(self) -> str:
        return f"{self.node}/messages"

    @property
    def conversations(self) -> str:
        return f"{self.node}/conversations"

    @property
    def subscribed_apps(self) -> str:
        return f"{self.node}/subscribed_apps"

    def get(self, path: str, **params) -> dict:
        return self.graph.get(path, self.token, **params)

    def post(self, path: str, json: Any = None, data: dict | None = None, **params) -> dict:
        return self.graph.post(path, self.token, json=json, data=data, **params)

    def delete(self, path: str, **params) -> dict:
        return self.graph.delete(path, self.token, **params)

    def paginate(self, path: str, limit_pages: int = 50, **params) -> Iterator[dict]:
        return self.graph.paginate(path, self.token, limit_pages, **params)


def page_api(page_id: str, page_token: str | None, app=None) -> ChannelApi:
    """Facebook Login: graph.facebook.com, from the Page."""
    return ChannelApi(GraphClient.from_app(app), page_token, page_id, "facebook")


def instagram_api(token: str | None, app=None) -> ChannelApi:
    """Instagram Login: graph.instagram.com, from the account the token belongs to (`me`)."""
    return ChannelApi(GraphClient.from_app(app, "instagram"), token, "me", "instagram")


def for_channel(channel, app=None) -> ChannelApi:
    """The API a channel's calls go to (`channel.login`), with its decrypted token."""
    from keloa_web import crypto

    token = crypto.decrypt(channel.page_token_enc)
    if channel.login == "instagram":
        return instagram_api(token, app)
    return page_api(channel.page_id, token, app)


def _query(url: str) -> list[tuple[str, str]]:
    from urllib.parse import parse_qsl

    return parse_qsl(urlsplit(url).query)


def _int(value) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _retry_after(resp: requests.Response) -> float | None:
    """Seconds to wait, from Retry-After or Meta's X-Business-Use-Case-Usage header."""
    import json as _json

    if resp.headers.get("Retry-After"):
        try:
            return float(resp.headers["Retry-After"])
        except ValueError:
            pass
    raw = resp.headers.get("X-Business-Use-Case-Usage")
    if raw:
        try:
            usage = _json.loads(raw)
            minutes = [u.get("estimated_time_to_regain_access", 0) for v in usage.values() for u in v]
            if minutes and max(minutes) > 0:
                return 60.0 * max(minutes)
        except (ValueError, AttributeError, TypeError, RecursionError):
            pass
    return None
