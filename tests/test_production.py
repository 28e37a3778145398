"""The production path exactly as the README documents it, without Docker: a system-style Redis on
a TCP port, PostgreSQL, `alembic upgrade head`, gunicorn with gunicorn.conf.py behind a (simulated)
TLS proxy, and two worker.py processes, all with KELOA_ENV=production."""
from __future__ import annotations

import os
import re
import time
import secrets
import subprocess
import sys
from urllib.parse import parse_qs, urlsplit

import pytest
import redis as redis_lib
import requests

from keloa_web.redis_server import find_redis_server
from tests import helpers
from tests.conftest import APP_ID, APP_SECRET, IG_APP_ID, IG_APP_SECRET, VERIFY_TOKEN

ROOT = helpers.ROOT
CSRF_FIELD = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')
pytestmark = pytest.mark.timeout(180)


@pytest.fixture()
def system_redis(tmp_path):
    """redis-server as a system service runs it: TCP on loopback, AOF on, not the embedded socket."""
    port = helpers.free_port()
    data = tmp_path / "redis-data"
    data.mkdir()
    proc = subprocess.Popen(
        [find_redis_server(), "--port", str(port), "--bind", "127.0.0.1", "--dir", str(data),
         "--appendonly", "yes", "--save", "", "--daemonize", "no", "--loglevel", "warning"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    helpers.wait_until(lambda: _pings(url), timeout=10, message="redis-server on a TCP port")
    yield url
    helpers.stop_process(proc)


def _pings(url: str) -> bool:
    try:
        return redis_lib.Redis.from_url(url).ping()
    except redis_lib.RedisError:
        return False


class ProxiedClient:
    """Talks to gunicorn the way nginx (TLS terminated there) forwards a browser's requests."""

    def __init__(self, base: str):
        self.base = base
        self.http = requests.Session()
        self.http.headers.update({"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7"})

    def request(self, method: str, path: str, **kw) -> requests.Response:
        headers = kw.pop("headers", {})
        if method != "GET":
            headers.setdefault("Referer", f"https://{self.base.split('://', 1)[1]}{path}")
        resp = self.http.request(method, self.base + path, headers=headers, allow_redirects=False, timeout=15, **kw)
        for cookie in self.http.cookies:
            cookie.secure = False  # the TLS hop is simulated; the cookie itself must say Secure
        return resp

    def csrf(self, path: str) -> str:
        page = self.request("GET", path)
        match = CSRF_FIELD.search(page.text)
        assert match, f"no CSRF field on {path}"
        return match.group(1) or match.group(2)

    def submit(self, path: str, data: dict) -> requests.Response:
        return self.request("POST", path, data={"csrf_token": self.csrf(path), **data})

    def post_form(self, path: str, data: dict | None = None, page: str = "/settings") -> requests.Response:
        """A POST with the CSRF token in a header, taken from `page` (as base.html sets it for htmx)."""
        token = helpers.CSRF_RE.search(self.request("GET", page).text).group(1)
        return self.request("POST", path, data=data or {}, headers={"X-CSRFToken": token})


def _open_streams(browser: ProxiedClient, count: int):
    """`count` live streams as a signed-in browser opens them; each one's first `changes` event
    (after the first look) is counted in the list returned beside them."""
    import threading

    events, streams = [], []
    for _ in range(count):
        resp = browser.http.get(browser.base + "/live", stream=True, timeout=(5, 60))
        streams.append(resp)
        if resp.status_code != 200:
            continue

        def read(r=resp):
            try:
                seen_first = False
                for line in r.iter_lines(decode_unicode=True):
                    if line == "event: changes":
                        if seen_first:
                            events.append(1)
                            return
                        seen_first = True
                    elif line == ": ping":
                        seen_first = True  # the first look found nothing new
            except Exception:  # noqa: BLE001 - the stream was closed by the test
                pass

        threading.Thread(target=read, daemon=True).start()
    return streams, events


def _page_with(browser: ProxiedClient, path: str, text: str) -> str | None:
    page = browser.request("GET", path).text
    return page if text in page else None


def connect_instagram(browser: ProxiedClient, sandbox: helpers.Sandbox, page_key: str = "coffee") -> None:
    """Integrations → Connect through Facebook → the sandbox's Facebook Login dialog as ana → pick the Page."""
    dialog = browser.post_form("/integrations/meta/login", page="/integrations/")
    assert dialog.status_code == 302 and dialog.headers["Location"].startswith(sandbox.base)
    state = sandbox.state()
    ana = next(u for u in state["users"] if u["key"] == "ana")
    scope = parse_qs(urlsplit(dialog.headers["Location"]).query)["scope"][0].split(",")
    answer = requests.post(dialog.headers["Location"], allow_redirects=False, timeout=10, data={
        "user": ana["id"], "action": "allow", "perm": scope, f"pages_{ana['id']}": list(ana["page_tasks"])})
    callback = urlsplit(answer.headers["Location"].split("#", 1)[0])
    assert browser.request("GET", f"{callback.path}?{callback.query}").headers["Location"].endswith("/meta/pages")
    page_id = next(p["id"] for p in state["pages"] if p["key"] == page_key)
    resp = browser.post_form(f"/integrations/meta/pages/{page_id}/connect", page="/integrations/meta/pages")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/integrations/"), resp.text[:300]


@pytest.fixture()
def production(tmp_path, postgres_url, system_redis, sandbox):
    """Keloa started as the README's Production section says: migrate, gunicorn, two workers;
    the Meta sandbox plays Meta and sends its webhooks to this Keloa."""
    port = helpers.free_port()
    base = f"http://127.0.0.1:{port}"
    sandbox.control("POST", "config", json={"SANDBOX_WEBHOOK_URL": f"{base}/webhooks/instagram",
                                            "SANDBOX_DEAUTH_URL": f"{base}/webhooks/meta/deauthorize"})
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KELOA_", "META_", "SANDBOX_"))}
    env.update({
        "KELOA_ENV": "production",
        # The sandbox plays Meta over plain http on loopback: the named escape hatch allows exactly
        # that (never a weak key), and every process says so in its log.
        "KELOA_INSECURE_TEST_SETUP": "1",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "DATABASE_URL": postgres_url,
        "REDIS_URL": system_redis,
        "META_APP_ID": APP_ID,
        "META_APP_SECRET": APP_SECRET,
        "META_VERIFY_TOKEN": VERIFY_TOKEN,
        "PUBLIC_BASE_URL": base,
        "KELOA_INSTANCE_DIR": str(tmp_path / "instance"),
        "MEDIA_DIR": str(tmp_path / "media"),
        "GRAPH_API_BASE": sandbox.base,
        "META_AUTHORIZE_URL": f"{sandbox.base}/v25.0/dialog/oauth",
        "META_CDN_HOSTS": sandbox.base.split("://", 1)[1],
        "INSTAGRAM_APP_ID": IG_APP_ID,
        "INSTAGRAM_APP_SECRET": IG_APP_SECRET,
        "INSTAGRAM_AUTHORIZE_URL": f"{sandbox.base}/instagram/oauth/authorize",
        "INSTAGRAM_OAUTH_TOKEN_URL": f"{sandbox.base}/instagram/oauth/access_token",
        "INSTAGRAM_GRAPH_BASE": f"{sandbox.base}/instagram/graph",
        "AI_REPLY_DELAY_SECONDS": "0",
        "KELOA_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "2",
        "KELOA_ACCESS_LOG": str(tmp_path / "access.log"),
        "TRUSTED_PROXY_HOPS": "1",
        # One signed-in browser opens every stream below: above the per-process limit, not the per-user one.
        "LIVE_STREAMS_PER_USER": "30",
    })
    subprocess.run([sys.executable, "-m", "alembic", "upgrade", "head"], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=60)
    log = open(tmp_path / "gunicorn.log", "wb")
    web = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"],
                           cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    workers = [subprocess.Popen([sys.executable, "worker.py"], cwd=ROOT, env=env) for _ in range(2)]
    try:
        helpers.wait_http(f"{base}/healthz", web, timeout=30)
        yield {"base": base, "env": env, "web": web, "workers": workers, "tmp": tmp_path, "sandbox": sandbox}
    finally:
        for proc in [web, *workers]:
            helpers.stop_process(proc)
        log.close()


def test_production_path_serves_and_works_as_documented(production):
    base, env = production["base"], production["env"]

    health = requests.get(f"{base}/healthz", timeout=5)
    assert health.status_code == 200
    assert health.json()["checks"] == {"database": "ok", "redis": "ok"}

    # Two worker.py processes registered against the one Redis.
    from rq import Worker

    conn = redis_lib.Redis.from_url(env["REDIS_URL"])
    helpers.wait_until(lambda: len(Worker.all(connection=conn)) == 2, timeout=20, message="two RQ workers")

    # First visit: create the owner, signed in at once, with a production session cookie.
    browser = ProxiedClient(base)
    assert browser.request("GET", "/login").headers["Location"].startswith("/setup")
    resp = browser.submit("/setup", {"name": "Olivia Owner", "email": "owner@example.com",
                                     "password": "a long production password", "confirm": "a long production password"})
    assert resp.status_code == 302, resp.text[:500]
    cookie = resp.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert resp.headers["Strict-Transport-Security"].startswith("max-age=")
    assert browser.request("GET", "/settings").status_code == 200

    # Meta's subscription handshake with the verify token; the access log has paths, never query
    # strings (the verify token, OAuth codes and state).
    handshake = requests.get(f"{base}/webhooks/instagram", timeout=5, params={
        "hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"})
    assert handshake.status_code == 200 and handshake.text == "1158201444"
    browser.request("GET", "/login?next=/&code=SECRET-OAUTH-CODE&access_token=SECRET-TOKEN")
    # Invitation and signed media links carry their token in the path: the log shows [redacted].
    assert browser.request("GET", "/invite/SECRET-INVITE-TOKEN").status_code == 410
    assert browser.request("GET", "/m/SECRET-MEDIA-TOKEN").status_code == 404
    access_log = production["tmp"] / "access.log"
    access = helpers.wait_until(lambda: '/m/[redacted]' in access_log.read_text() and access_log.read_text(),
                                timeout=5, message="the last request in the access log")
    assert '"GET /login HTTP/1.1"' in access and '"GET /webhooks/instagram HTTP/1.1" 200' in access
    assert '"GET /invite/[redacted] HTTP/1.1" 410' in access and '"GET /m/[redacted] HTTP/1.1" 404' in access
    assert "SECRET-" not in access and VERIFY_TOKEN not in access and "1158201444" not in access

    # Connect @keloa.coffee through the sandbox's Facebook Login: Keloa subscribes its Page.
    sandbox = production["sandbox"]
    connect_instagram(browser, sandbox)
    assert "@keloa.coffee" in browser.request("GET", "/integrations/").text
    coffee = next(p for p in sandbox.state()["pages"] if p["key"] == "coffee")
    assert "messages" in coffee["subscribed_fields"]

    # Live streams: every process holds up to LIVE_STREAMS_PER_PROCESS (25) of them, beyond which a
    # stream is refused (the tab polls) and pages still answer at once.
    streams, events = _open_streams(browser, 52)
    codes = [s.status_code for s in streams]
    assert set(codes) == {200, 503} and 25 <= codes.count(200) <= 50, codes  # 2 processes × 25 at most
    assert "polls instead" in next(s for s in streams if s.status_code == 503).text
    started = time.monotonic()
    assert browser.request("GET", "/inbox").status_code == 200 and time.monotonic() - started < 2

    # Maya writes to @keloa.coffee: Meta (the sandbox) signs and posts the webhook to gunicorn, a
    # worker applies it, the open streams say so, and the inbox shows it.
    sandbox.control("POST", "customer/send", json={"account": "keloa.coffee", "customer": "maya", "type": "text",
                                                   "text": "Hi! Is the oat latte vegan?"})
    inbox = helpers.wait_until(lambda: _page_with(browser, "/inbox?status=all", "Is the oat latte vegan?"),
                               timeout=30, message="the customer's DM in the inbox")
    conv_path = re.search(r'href="(/inbox/c/\d+)', inbox).group(1)
    helpers.wait_until(lambda: len(events) >= codes.count(200), timeout=10,
                       message="a changes event on every open stream")
    for stream in streams:
        stream.close()
    assert "Maya" in browser.request("GET", conv_path).text

    # A teammate replies from the thread; a worker sends it through the Send API.
    resp = browser.post_form(f"{conv_path}/messages", {"text": "Yes, oat milk is vegan. See you soon!"}, page=conv_path)
    assert resp.status_code == 302 and resp.headers["Location"].startswith(conv_path), resp.text[:300]
    sent = helpers.wait_until(lambda: [m for m in sandbox.control("GET", "sent")["data"]
                                       if m.get("text") == "Yes, oat milk is vegan. See you soon!"],
                              timeout=30, message="the reply at the sandbox")
    assert len(sent) == 1 and sent[0]["customer"] == "maya" and not sent[0].get("tag")
    # Its echo webhook comes back too: the thread still shows the reply once, marked sent.
    thread = helpers.wait_until(lambda: _page_with(browser, conv_path, 'class="state sent"'), timeout=20,
                                message="the reply marked sent")
    assert thread.count('<p class="msg-text">Yes, oat milk is vegan. See you soon!</p>') == 1

    # Every process is still up: nothing crashed along the way.
    assert production["web"].poll() is None and all(w.poll() is None for w in production["workers"])
    assert "KELOA_INSECURE_TEST_SETUP is set: this production start allows plain http" in \
        (production["tmp"] / "gunicorn.log").read_text()


def test_production_path_with_an_instagram_login_channel(production):
    """The whole conversation for an account without a Facebook Page, connected with Instagram Login:
    connect, every kind of event, a reply, read receipts, an AI reply, disconnect."""
    base, sandbox = production["base"], production["sandbox"]
    browser = ProxiedClient(base)
    browser.submit("/setup", {"name": "Olivia Owner", "email": "owner@example.com",
                              "password": "a long production password", "confirm": "a long production password"})

    # An agent that knows the prices, created on the AI agents page.
    created = browser.submit("/agents/", {"name": "Studio helper"})
    agent_path = created.headers["Location"]
    browser.submit(f"{agent_path}/knowledge", {"title": "Prices", "body": "A logo starts at 300 euros.",
                                                "examples": "how much is a logo"})

    # Integrations → Connect with Instagram → Instagram's window (the sandbox) as @keloa.studio.
    window = browser.post_form("/integrations/instagram/login", page="/integrations/")
    assert window.status_code == 302 and window.headers["Location"].startswith(f"{sandbox.base}/instagram/oauth/")
    studio = next(a for a in sandbox.state()["accounts"] if a["key"] == "studio")
    scope = parse_qs(urlsplit(window.headers["Location"]).query)["scope"][0].split(",")
    answer = requests.post(window.headers["Location"], allow_redirects=False, timeout=10,
                           data={"account": studio["id"], "action": "allow", "perm": scope})
    callback = urlsplit(answer.headers["Location"].split("#", 1)[0])
    done = browser.request("GET", f"{callback.path}?{callback.query}")
    assert done.status_code == 302 and done.headers["Location"].endswith("/integrations/"), done.text[:300]
    integrations = browser.request("GET", "/integrations/").text
    assert "@keloa.studio is connected with Instagram Login" in integrations
    assert "Instagram Login (no Facebook Page)" in integrations
    channel_id = re.search(r'id="channel-(\d+)"', integrations).group(1)
    agent_id = agent_path.rstrip("/").rsplit("/", 1)[1]
    for field, data in (("agent_id", {"agent_id": agent_id}), ("ai_enabled", {"ai_enabled": "1"})):
        saved = browser.post_form(f"/integrations/channels/{channel_id}/settings", {"field": field, **data},
                                  page="/integrations/")
        assert saved.status_code == 200, saved.text[:300]

    def customer(kind, who="maya", **kw):
        return sandbox.control("POST", "customer/send", json={"account": "keloa.studio", "customer": who,
                                                             "type": kind, **kw})

    first = customer("text", text="Do you design flyers?")
    for kind in ("image", "audio", "video"):
        customer(kind)
    customer("story_reply", text="Love this poster")
    customer("react", mid=first["mid"], reaction="love")
    customer("edit", mid=first["mid"], text="Do you design flyers and posters?")
    inbox = helpers.wait_until(lambda: _page_with(browser, "/inbox?status=all", "Maya"), timeout=30,
                               message="the conversation in the inbox")
    conv_path = re.search(r'href="(/inbox/c/\d+)', inbox).group(1)
    thread = helpers.wait_until(lambda: _page_with(browser, conv_path, "Do you design flyers and posters?"),
                                timeout=30, message="the edited message")
    assert "Love this poster" in thread and "Replied to your story" in thread
    oops = customer("text", text="Oops, wrong chat")
    helpers.wait_until(lambda: _page_with(browser, conv_path, "Oops, wrong chat"), timeout=30, message="the slip")
    customer("unsend", mid=oops["mid"])
    helpers.wait_until(lambda: "Oops, wrong chat" not in browser.request("GET", conv_path).text
                       and "msg-unsent" in browser.request("GET", conv_path).text, timeout=30, message="the unsend")

    def sent(who="maya", **want):
        return [m for m in sandbox.control("GET", "sent")["data"] if m["customer"] == who
                and m["account_username"] == "keloa.studio" and all(m.get(k) == v for k, v in want.items())]

    helpers.wait_until(lambda: sent(sender_action="mark_seen"), timeout=30, message="the read receipt")
    resp = browser.post_form(f"{conv_path}/messages", {"text": "Yes, both. Send me your brief."}, page=conv_path)
    assert resp.status_code == 302, resp.text[:300]
    helpers.wait_until(lambda: sent(text="Yes, both. Send me your brief."), timeout=30, message="the reply")
    assert any(c["path"] == "/instagram/graph/v25.0/me/messages" for c in sandbox.control("GET", "calls")["data"])

    customer("text", who="leo", text="How much is a logo?")
    # The AI's first reply in a conversation says it is an assistant, then answers from the knowledge.
    ai_reply = helpers.wait_until(lambda: [m for m in sent("leo", kind="message")
                                           if "A logo starts at 300 euros." in (m["text"] or "")],
                                  timeout=30, message="the AI reply")
    assert "automated assistant of @keloa.studio" in ai_reply[0]["text"]

    disconnected = browser.post_form(f"/integrations/channels/{channel_id}/disconnect", page="/integrations/")
    assert disconnected.status_code == 302
    assert next(a for a in sandbox.state()["accounts"] if a["key"] == "studio")["ig_subscribed_fields"] == []
    assert production["web"].poll() is None and all(w.poll() is None for w in production["workers"])


def test_production_refuses_to_start_with_unsafe_settings(tmp_path, postgres_url, system_redis):
    env = dict(os.environ, KELOA_ENV="production", DATABASE_URL=postgres_url, REDIS_URL=system_redis,
               SECRET_KEY="short", KELOA_BIND=f"127.0.0.1:{helpers.free_port()}",
               KELOA_INSTANCE_DIR=str(tmp_path / "instance"), WEB_CONCURRENCY="1")
    for name in ("META_APP_ID", "META_APP_SECRET", "META_VERIFY_TOKEN"):
        env.pop(name, None)
    done = subprocess.run([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "SECRET_KEY must be set" in done.stderr
    assert ("META_APP_ID and META_APP_SECRET (Facebook Login), or INSTAGRAM_APP_ID and INSTAGRAM_APP_SECRET "
            "(Instagram Login), are not set") in done.stderr
