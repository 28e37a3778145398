"""The inbox in Chromium: a sandbox customer writes, it appears live, a teammate replies, and the
customer's reaction and "Seen" appear beside the reply, all without reloading the page."""
from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from keloa_web.db import db
from keloa_web.models import Message
from tests import factories

pytestmark = pytest.mark.e2e
LIVE = 15_000  # ms: generous on purpose; how fast things appear is measured by bench/bench_live.py, not here


def _customer(sandbox, channel, kind: str, **kw) -> dict:
    return sandbox.control("POST", "customer/send", json={"account": channel.ig_account_id, "customer": "maya",
                                                         "type": kind, **kw})


def test_dm_appears_live_reply_is_sent_and_reaction_and_seen_follow(sandbox, app, live_server, worker,
                                                                     signed_in_page, tmp_path):
    page = signed_in_page
    sandbox.control("POST", "config", json={"SANDBOX_WEBHOOK_URL": f"{live_server}/webhooks/instagram"})
    sandbox.control("POST", "pages/coffee/subscription", json={"fields": ["messages", "message_reactions",
                                                                          "message_reads"]})
    with db.session_scope() as s:
        channel = factories.sandbox_channel(s, sandbox)
    page.goto(f"{live_server}/inbox")
    expect(page.get_by_text("Nothing here.")).to_be_visible()

    # The customer writes, sends a photo and replies to a story: the list updates by itself.
    _customer(sandbox, channel, "text", text="Hi! Is this still available?")
    _customer(sandbox, channel, "image")
    _customer(sandbox, channel, "story_reply", text="Love this latte art")
    row = page.locator(".conv-row", has_text="Maya")
    expect(row).to_be_visible(timeout=10_000)
    expect(row.locator(".unread-count")).to_be_visible(timeout=LIVE)

    row.click()
    thread = page.locator("#thread-messages")
    expect(thread).to_contain_text("Hi! Is this still available?")
    expect(thread).to_contain_text("Love this latte art", timeout=LIVE)
    expect(thread.locator("img.msg-image")).to_be_visible(timeout=10_000)  # downloaded into Keloa's storage
    story = thread.locator("figure.story")
    expect(story).to_contain_text("Replied to your story")
    expect(story.locator("img.story-preview")).to_be_visible()  # loaded from the sandbox's CDN URL
    expect(story.get_by_text("Story no longer available")).to_be_hidden()
    expect(page.locator("#window-state")).to_contain_text("Reply window open")
    expect(page.locator("#window-state")).to_contain_text(
        "AI and teammates for 24 h after the customer's last message; then teammates only, tagged Human agent, "
        "until day 7.")
    # Meta's profile signals beside her name (the worker looked her up)
    expect(page.locator(".profile-signals")).to_contain_text("1,234 followers", timeout=LIVE)
    page.screenshot(path=str(tmp_path / "inbox-thread.png"))

    # A teammate replies to her first message; the worker sends it through the sandbox's Send API.
    asked = thread.locator("article.msg-in", has_text="Is this still available?")
    asked.get_by_role("link", name="Reply to this").click()
    expect(page.locator("#replying")).to_contain_text("Replying to: Hi! Is this still available?")
    expect(page.locator("#reply-text")).to_be_focused()
    page.locator("#reply-text").fill("Yes! Come by today ☕")
    expect(page.locator(".byte-count")).to_contain_text("/ 1000 bytes")
    page.get_by_role("button", name="Send", exact=True).click()
    reply = thread.locator("article.msg-out", has_text="Yes! Come by today")
    expect(reply).to_be_visible()
    expect(reply.locator(".state.sent")).to_be_visible(timeout=10_000)
    sent = [r for r in sandbox.control("GET", "sent")["data"] if r["kind"] == "message"]
    assert [(r["text"], r["tag"]) for r in sent] == [("Yes! Come by today ☕", None)]
    assert sent[0]["reply_to"]["mid"]  # sent as a reply to her message
    expect(reply.locator("blockquote.quote")).to_contain_text("Hi! Is this still available?")
    expect(page.locator("#replying")).to_be_hidden()

    # The customer reacts to the reply and reads it: both show next to it, live.
    mid = db.session.scalar(select(Message.mid).where(Message.direction == "out"))
    db.session.rollback()
    _customer(sandbox, channel, "react", mid=mid, reaction="love")
    _customer(sandbox, channel, "seen", mid=mid)
    expect(reply.locator(".reaction")).to_be_visible(timeout=LIVE + 2_000)
    expect(reply.locator(".seen")).to_have_text("Seen", timeout=LIVE + 2_000)
    page.screenshot(path=str(tmp_path / "inbox-replied.png"))

    # A day later Meta's story URL stops loading: the placeholder takes its place, even when the
    # image fails before Keloa's script has run (held back here for a moment).
    sandbox.control("POST", "clock", json={"advance_hours": 25})
    page.route("**/js/keloa.js", lambda route: (time.sleep(1), route.continue_()))
    page.reload()
    expect(page.locator("figure.story").get_by_text("Story no longer available")).to_be_visible()
    expect(page.locator("figure.story img.story-preview")).to_be_hidden()
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(tmp_path / "inbox-phone.png"))
