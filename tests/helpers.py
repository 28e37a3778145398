"""Helpers for tests: migrations, users, an htmx/CSRF-aware client, processes, the sandbox."""
from __future__ import annotations

import contextvars
import os
import re
import socket
import subprocess
import sys
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import requests

from keloa_web.processes import stop_process, wait_http  # noqa: F401  (shared with bench/)

ROOT = Path(__file__).resolve().parent.parent


def migrate(url: str, revision: str = "head", direction: str = "upgrade") -> None:
    from alembic import command

    from keloa_web.operations.database import alembic_config

    getattr(command, direction)(alembic_config(url), revision)


def head_revision() -> str:
    from keloa_web.operations.database import head_revision as head

    return head()


_PASSWORD_HASHES: dict[str, str] = {}


def password_hash(password: str) -> str:
    """Keloa's own hash of `password` (argon2id with its parameters), made once per test process:
    each argon2 hash costs about 0.1 s of CPU, and most tests make users with the same password.
    Users made here share that hash (and its salt); signing in verifies it as it does any other."""
    if password not in _PASSWORD_HASHES:
        from keloa_web.accounts.passwords import hash_password

        _PASSWORD_HASHES[password] = hash_password(password)
    return _PASSWORD_HASHES[password]


def make_user(app, email: str, name: str = "Test User", role: str = "agent", password: str = "correct horse battery"):
    from keloa_web.db import db
    from keloa_web.models import User

    with db.session_scope() as s:
        user = User(email=email, name=name, role=role, password_hash=password_hash(password))
        s.add(user)
        s.flush()
        return user


CSRF_RE = re.compile(r'"X-CSRFToken": "([^"]+)"')


class Client:
    """Flask test client that signs in and sends the CSRF header like the browser does.

    Each request runs in an empty context so that it gets its own app context (its own `g` and
    database session), as it would in production, even while the test holds one open.
    """

    def __init__(self, app):
        self.app = app
        self.http = app.test_client()
        self.token: str | None = None

    def csrf(self) -> str:
        if self.token is None:
            page = self.get("/login")
            if page.status_code in (301, 302):
                page = self.get(page.headers["Location"])
            match = CSRF_RE.search(page.get_data(as_text=True))
            assert match, "no CSRF token on the page"
            self.token = match.group(1)
        return self.token

    def login(self, email: str, password: str = "correct horse battery"):
        resp = self.post("/login", data={"email": email, "password": password})
        assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
        self.token = None  # the session changed; fetch a fresh token on next use
        return resp

    def get(self, url: str, htmx: bool = False, **kw):
        headers = kw.pop("headers", {})
        if htmx:
            headers["HX-Request"] = "true"
        return self._fresh(contextvars.Context().run(self.http.get, url, headers=headers, **kw))

    def post(self, url: str, data=None, htmx: bool = False, csrf: bool = True, **kw):
        headers = kw.pop("headers", {})
        if csrf:
            headers["X-CSRFToken"] = self.csrf()
        if htmx:
            headers["HX-Request"] = "true"
        return self._fresh(contextvars.Context().run(self.http.post, url, data=data or {}, headers=headers, **kw))

    @staticmethod
    def _fresh(resp):
        """End the test's own read snapshot so its next query sees what the request wrote."""
        from keloa_web.db import db

        db.session.rollback()
        return resp


def free_port() -> int:
    """A free loopback port. The suite runs in two processes (pytest-xdist): each takes its ports
    from its own range, so that two servers started at once never get the same port (the second
    would fail to bind, and its test would talk to the other test's server)."""
    import random

    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not worker.startswith("gw"):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]
    n = int(worker[2:] or 0)
    low = 20000 + 5000 * (n % 8)
    for _ in range(200):
        port = random.randrange(low, low + 5000)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in this test process's range")


def child_env(settings: dict) -> dict:
    env = dict(os.environ)
    env.update(settings)
    return env


def start_worker(settings: dict, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(ROOT / "worker.py"), *args], cwd=ROOT, env=child_env(settings))


def run_worker_burst(settings: dict, timeout: float = 60) -> None:
    subprocess.run([sys.executable, str(ROOT / "worker.py"), "--burst", "--no-periodic"], cwd=ROOT,
                   env=child_env(settings), check=True, timeout=timeout)


def wait_until(predicate, timeout: float = 15, interval: float = 0.1, message: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {message}")


class Sandbox:
    """Thin client for the Meta sandbox's control API."""

    def __init__(self, base: str):
        self.base = base

    def control(self, method: str, path: str, **kw):
        resp = requests.request(method, f"{self.base}/_sandbox/{path.lstrip('/')}", timeout=15, **kw)
        resp.raise_for_status()
        return resp.json() if resp.content else None

    def state(self):
        return self.control("GET", "state")


class QuietHandler(BaseHTTPRequestHandler):
    """A stand-in web server's handler (a CDN in the media tests): `reply` answers, nothing is logged."""

    def reply(self, status: int, content_type: str, data: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


def deliver_mail(box=None, count: int = 0) -> list:
    """What the worker does with queued mail: the "Forgot password?" lookups (send_reset jobs), then
    each unsent email through the real SMTP server; with `box`, waits for `count` messages there."""
    from rq import Queue
    from sqlalchemy import select

    from keloa_web.db import db
    from keloa_web.jobs import get_redis
    from keloa_web.mail import deliver
    from keloa_web.models import OutgoingEmail

    for j in [j for j in Queue("default", connection=get_redis()).jobs if j.func_name.endswith("send_reset")]:
        j.perform()
        j.delete()
    db.session.rollback()
    for email_id in db.session.scalars(select(OutgoingEmail.id).where(OutgoingEmail.sent_at.is_(None))).all():
        deliver(email_id)
    return box.wait_for(count) if box is not None else []


def mail_link(message, kind: str = r"[\w/-]+") -> str:
    """The path of the first link in `message`'s plain-text body (its site part dropped)."""
    found = re.search(r"https?://[^/\s]+(/" + kind + r")", message.get_body(("plain",)).get_content())
    assert found, "no link in the email"
    return found.group(1)


def on_postgres(settings: dict, postgres_url: str) -> dict:
    """`settings` with Keloa's database on the test PostgreSQL server, migrated: a module whose
    tests run there overrides `settings` with `return helpers.on_postgres(settings, postgres_url)`."""
    migrate(postgres_url)
    return {**settings, "DATABASE_URL": postgres_url}
