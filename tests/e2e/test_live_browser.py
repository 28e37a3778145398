"""Live by push in Chromium: a new DM reaches an open tab through the stream (the 2 s poll rests
while it is open), every kind of notification shows as a desktop notification and in the title's
count, clicking one opens its conversation, and the stream comes back after the server restarts
without losing a change."""
from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect

from keloa_web.db import db, utcnow
from tests import factories, helpers
from tests.receive.util import body, messaging, post

pytestmark = pytest.mark.e2e
BIZ = "17841400000000555"


def _until(page, expression: str, timeout: float = 5) -> None:
    """Wait until `expression` is true in the page (polled from here: the page's CSP forbids eval)."""
    helpers.wait_until(lambda: page.evaluate(expression), timeout=timeout, message=expression)


def _notifications_page(browser, live_server, width=1280):
    """A signed-in tab whose Notification permission is granted, recording what it shows."""
    context = browser.new_context(viewport={"width": width, "height": 900})
    context.grant_permissions(["notifications"], origin=live_server)
    context.add_init_script("""
      window.__shown = [];
      const Real = window.Notification;
      window.Notification = function (title, options) {
        const n = new Real(title, options); window.__shown.push({title, body: (options || {}).body || ""});
        window.__last = n; return n; };
      window.Notification.permission = Real.permission;
      window.Notification.requestPermission = Real.requestPermission.bind(Real);
    """)
    page = context.new_page()
    page.goto(f"{live_server}/login")
    page.get_by_label("Email").fill("owner@example.com")
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server}/inbox*")
    return context, page


def test_a_new_dm_arrives_by_push_and_every_event_kind_notifies(browser, live_server, app, admin, client):
    from keloa_web.models import Channel

    with db.session_scope() as s:
        s.add(Channel(ig_account_id=BIZ, page_id="page-555", ig_username="fern", page_name="Fern",
                      display_name="Fern & Silver"))
    context, page = _notifications_page(browser, live_server)
    try:
        page.goto(f"{live_server}/inbox")
        _until(page, "window.keloaLive === true")
        polls = []
        page.on("request", lambda r: polls.append(r.url) if "/inbox/changes" in r.url else None)
        time.sleep(2.5)
        assert polls == [], "the 2 s poll must rest while the stream is open"

        # 1. A new conversation: the row arrives by push, a notification shows, the title counts it.
        sent = int(utcnow().timestamp() * 1000)
        post(client, body(BIZ, messaging("maya", BIZ, sent, message={"mid": "m1", "text": "Is the ring in stock?"})))
        from keloa_web.webhooks import ingest

        ingest.drain_batch()
        expect(page.locator(".conv-row", has_text="Is the ring in stock?")).to_be_visible(timeout=3000)
        _until(page, "window.__shown.length === 1")
        assert page.evaluate("window.__shown[0].title").startswith("New conversation")
        expect(page).to_have_title("(1) Inbox · Keloa")
        expect(page.locator("#notify-count")).to_have_text("1")

        from keloa_web.models import Conversation, Message, User
        from sqlalchemy import select

        conv_id = db.session.scalar(select(Conversation.id))
        tom = helpers.make_user(app, email="tom@example.com", name="Tom Teammate", role="agent")
        with db.session_scope() as s:  # 2. a new message in a conversation assigned to me
            s.get(Conversation, conv_id).assignee_id = s.scalar(select(User.id).where(User.email == "owner@example.com"))
        post(client, body(BIZ, messaging("maya", BIZ, sent + 1000, message={"mid": "m2", "text": "Size 7 please"})))
        ingest.drain_batch()
        _until(page, "window.__shown.length === 2")
        assert page.evaluate("window.__shown[1].title").endswith(" wrote")
        assert page.evaluate("window.__shown[1].body") == "Size 7 please"

        # 3. A mention: Tom writes a note naming Olivia.
        tom_client = helpers.Client(app)
        tom_client.login("tom@example.com")
        tom_client.post(f"/inbox/c/{conv_id}/notes", htmx=True, data={"text": "@Olivia can you check stock?"})
        _until(page, "window.__shown.length === 3")
        assert page.evaluate("window.__shown[2].title").startswith("Tom Teammate mentioned you")

        # 4. A hand-off from the AI, 5. a reply that failed.
        from keloa_web.notifications import notify

        with db.session_scope() as s:
            conv = s.get(Conversation, conv_id)
            notify.handed_off(s, conv, "AI handed this to a teammate: no answer in the knowledge base")
        _until(page, "window.__shown.length === 4")
        assert page.evaluate("window.__shown[3].title").endswith("needs a person")
        with db.session_scope() as s:
            failed = factories.gen_message(s, s.get(Conversation, conv_id), direction="out", text="hi",
                                           author_user_id=s.scalar(select(User.id).where(User.email == "owner@example.com")),
                                           status="failed", error="Instagram refused this message")
            notify.reply_failed(s, failed)
        _until(page, "window.__shown.length === 5")
        assert page.evaluate("window.__shown[4].title").startswith("A reply to")
        expect(page).to_have_title("(5) Inbox · Keloa")
        assert tom.id and Message

        # Clicking a notification opens its conversation (and it is seen).
        page.evaluate("window.__last.onclick()")
        expect(page).to_have_url(f"{live_server}/inbox/c/{conv_id}")
        expect(page.locator("#thread-messages")).to_contain_text("Size 7 please")
    finally:
        context.close()


def _serve(settings: dict, port: int):
    import subprocess
    import sys

    code = ("from wsgi import web; from werkzeug.serving import run_simple; "
            f"run_simple('127.0.0.1', {port}, web, threaded=True)")
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=helpers.ROOT, env=helpers.child_env(settings),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    helpers.wait_http(f"http://127.0.0.1:{port}/healthz", proc)
    return proc


def test_the_stream_comes_back_after_a_restart_and_no_change_is_lost(browser, settings, app, admin, client):
    from keloa_web.models import Channel
    from keloa_web.webhooks import ingest

    with db.session_scope() as s:
        s.add(Channel(ig_account_id=BIZ, page_id="page-555", ig_username="fern", page_name="Fern"))
    port = helpers.free_port()
    base = f"http://127.0.0.1:{port}"
    proc = _serve({**settings, "PUBLIC_BASE_URL": base}, port)
    context, page = _notifications_page(browser, base)
    try:
        page.goto(f"{base}/inbox")
        _until(page, "window.keloaLive === true")
        helpers.stop_process(proc)  # the server goes away: the stream drops, the page polls (and fails)
        _until(page, "window.keloaLive === false")
        sent = int(utcnow().timestamp() * 1000)
        post(client, body(BIZ, messaging("leo", BIZ, sent, message={"mid": "while-down", "text": "Anyone there?"})))
        ingest.drain_batch()
        proc = _serve({**settings, "PUBLIC_BASE_URL": base}, port)
        _until(page, "window.keloaLive === true", timeout=15)  # EventSource reconnects on its own
        expect(page.locator(".conv-row", has_text="Anyone there?")).to_have_count(1, timeout=5000)
        _until(page, "window.__shown.length === 1")  # its notification too, once
        time.sleep(1.5)
        assert page.evaluate("window.__shown.length") == 1
        expect(page.locator(".conv-row", has_text="Anyone there?")).to_have_count(1)
    finally:
        context.close()
        helpers.stop_process(proc)


@pytest.mark.parametrize("width", [1280, 390])
def test_notification_settings_ask_for_permission_only_from_the_button(browser, live_server, admin, width):
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    try:
        page.goto(f"{live_server}/login")
        page.get_by_label("Email").fill("owner@example.com")
        page.get_by_label("Password").fill("correct horse battery")
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{live_server}/inbox*")
        page.goto(f"{live_server}/settings#notifications")
        box = page.locator("#notifications")
        expect(box.locator("#notify-permission")).to_have_text("Your browser asks first.")
        expect(box.get_by_role("button", name="Allow desktop notifications")).to_be_visible()
        assert page.evaluate("Notification.permission") == "default"  # nothing was asked on load
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        box.get_by_label("Someone mentions me in an internal note").uncheck()
        box.get_by_label("Sound").select_option("pop")
        box.get_by_role("button", name="Save notification settings").click()
        expect(page.locator("#flash")).to_contain_text("Notification settings saved.")
        expect(page.locator("#notifications").get_by_label("Someone mentions me in an internal note")).not_to_be_checked()
        expect(page.locator("#notifications").get_by_label("Sound")).to_have_value("pop")
        context.grant_permissions(["notifications"], origin=live_server)
        page.reload()
        expect(page.locator("#notify-permission")).to_have_text("Your browser shows Keloa's notifications.")
        expect(page.get_by_role("button", name="Allow desktop notifications")).to_be_hidden()
    finally:
        context.close()
