"""Fixtures: the sandbox on a real loopback port and a tiny webhook receiver that records POSTs."""
import json
import logging
import threading
import time

import pytest
import requests
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from meta_sandbox import create_app

APP_SECRET = "test-app-secret"
logging.getLogger("werkzeug").setLevel(logging.ERROR)


class Receiver:
    """Records every request; answers as told (status, delay); echoes hub.challenge when the token fits."""

    def __init__(self):
        self.requests = []
        self.lock = threading.Lock()
        self.status = 200
        self.delay = 0.0
        self.verify_token = "test-verify-token"
        self.server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.files = {}

    def app(self, environ, start_response):
        req = Request(environ)
        body = req.get_data()
        with self.lock:
            self.requests.append({"method": req.method, "path": req.path, "args": req.args.to_dict(),
                                  "headers": dict(req.headers), "body": body, "form": req.form.to_dict()})
        if req.path.startswith("/files/"):
            f = self.files.get(req.path[len("/files/"):])
            if f is None:
                return Response("nope", status=404)(environ, start_response)
            return Response(f[0], mimetype=f[1])(environ, start_response)
        if self.delay:
            time.sleep(self.delay)
        if req.method == "GET" and req.args.get("hub.mode") == "subscribe":
            if req.args.get("hub.verify_token") == self.verify_token:
                return Response(req.args.get("hub.challenge", ""), status=200)(environ, start_response)
            return Response("forbidden", status=403)(environ, start_response)
        return Response("EVENT_RECEIVED", status=self.status)(environ, start_response)

    def posts(self, path="/webhook"):
        with self.lock:
            return [r for r in self.requests if r["method"] == "POST" and r["path"] == path]

    def bodies(self):
        return [json.loads(r["body"]) for r in self.posts()]

    def wait_posts(self, n, timeout=15.0, path="/webhook"):
        end = time.time() + timeout
        while time.time() < end:
            if len(self.posts(path)) >= n:
                return self.posts(path)
            time.sleep(0.02)
        raise AssertionError(f"expected {n} POSTs to {path}, got {len(self.posts(path))}")

    def clear(self):
        with self.lock:
            self.requests = []
        self.status, self.delay, self.files = 200, 0.0, {}


class Sandbox:
    def __init__(self, receiver):
        self.receiver = receiver
        holder = {}
        self.server = make_server("127.0.0.1", 0, lambda e, s: holder["app"](e, s), threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.app = create_app({
            "SANDBOX_APP_SECRET": APP_SECRET, "SANDBOX_VERIFY_TOKEN": receiver.verify_token,
            "SANDBOX_WEBHOOK_URL": receiver.url + "/webhook", "SANDBOX_DEAUTH_URL": receiver.url + "/deauth",
            "SANDBOX_PUBLIC_URL": self.url, "SANDBOX_RETRY_BASE_SECONDS": 0.05, "SANDBOX_RETRY_MAX_SECONDS": 0.2,
            "SANDBOX_DELIVERY_TIMEOUT": 1.0, "SANDBOX_MEDIA_FETCH_TIMEOUT": 2.0})
        holder["app"] = self.app
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    # helpers
    def control(self, path, body=None, method="POST"):
        r = requests.request(method, f"{self.url}/_sandbox/{path}", json=body, timeout=10)
        assert r.status_code < 300, r.text
        return r.json()

    def graph(self, method, path, token=None, ver="v25.0", json_body=None, **params):
        if token:
            params["access_token"] = token
        url = f"{self.url}/{ver}/{path.lstrip('/')}"
        if method == "GET" or method == "DELETE":
            return requests.request(method, url, params=params, timeout=10)
        if json_body is not None:
            return requests.post(url, params=params, json=json_body, timeout=10)
        return requests.post(url, data=params, timeout=10)

    def state(self):
        return self.control("state", method="GET")

    def issue(self, user="ana", **kw):
        return self.control("tokens/issue", dict(user=user, **kw))

    def customer(self, **kw):
        return self.control("customer/send", kw)

    def subscribe(self, page_token, page_id, fields="messages"):
        r = self.graph("POST", f"{page_id}/subscribed_apps", page_token, subscribed_fields=fields)
        assert r.status_code == 200, r.text
        return r.json()

    def deliveries(self, status=None):
        q = f"?status={status}" if status else ""
        return self.control("deliveries" + q, method="GET")["data"]

    def wait(self, predicate, timeout=5.0):
        end = time.time() + timeout
        while time.time() < end:
            value = predicate()
            if value:
                return value
            time.sleep(0.02)
        raise AssertionError("condition not met in time")


COFFEE_PAGE, COFFEE_IG = "104000000000101", "17841400000000101"
BOOKS_PAGE, BOOKS_IG = "104000000000102", "17841400000000102"
BAKERY_PAGE, PERSONAL_PAGE, PERSONAL_IG = "104000000000103", "104000000000104", "17841400000000104"
QUIET_PAGE, QUIET_IG = "104000000000105", "17841400000000105"


@pytest.fixture(scope="session")
def receiver():
    return Receiver()


@pytest.fixture(scope="session")
def _sandbox(receiver):
    return Sandbox(receiver)


@pytest.fixture
def sb(_sandbox, receiver):
    _sandbox.control("reset", {"settings": True})
    receiver.clear()
    return _sandbox


@pytest.fixture
def coffee(sb):
    """Ana's long-lived tokens with Keloa Coffee subscribed: (user token, coffee page token)."""
    toks = sb.issue("ana")
    page_token = toks["page_tokens"][COFFEE_PAGE]
    sb.subscribe(page_token, COFFEE_PAGE)
    return toks["access_token"], page_token
