"""The thread in Chromium: times and day separators in the reader's time zone, and reading
earlier messages while new ones arrive."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from keloa_web.db import db
from tests import factories

pytestmark = pytest.mark.e2e


def _reader_in_auckland(browser, live_server, width: int, height: int):
    """A browser in Auckland (UTC+13 in summer, en-NZ), signed in as the owner, on the inbox."""
    context = browser.new_context(viewport={"width": width, "height": height}, timezone_id="Pacific/Auckland",
                                  locale="en-NZ")
    page = context.new_page()
    page.goto(f"{live_server}/login")
    page.get_by_label("Email").fill("owner@example.com")
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{live_server}/inbox")
    return context, page


def test_thread_days_and_times_are_the_readers_own(browser, live_server, admin):
    two_days_ago = (datetime.utcnow() - timedelta(days=2)).replace(hour=10, minute=0, second=0, microsecond=0)
    with db.session_scope() as s:
        channel = factories.gen_channel(s)
        contact = factories.gen_contact(s, channel, name="Kiri", username="kiri")
        conv = factories.gen_conversation(s, channel, contact, last_message_preview="see you")
        # One UTC day, but 23:00 and 01:00 on two days in Auckland (UTC+13 in summer).
        factories.gen_message(s, conv, "in", text="late evening", sent_at=two_days_ago)
        factories.gen_message(s, conv, "in", text="after midnight", sent_at=two_days_ago + timedelta(hours=2))

    context, page = _reader_in_auckland(browser, live_server, 1280, 900)
    try:
        page.goto(f"{live_server}/inbox/c/{conv.id}")
        thread = page.locator("#thread-messages")
        evening = thread.locator("article.msg", has_text="late evening")
        night = thread.locator("article.msg", has_text="after midnight")
        expect(evening.locator("time")).to_have_text("11:00 pm")
        expect(night.locator("time")).to_have_text("01:00 am")
        expect(thread.locator(".day")).to_have_count(2)
        auckland = ZoneInfo("Pacific/Auckland")
        today = datetime.now(auckland).date()
        for n, at in enumerate((two_days_ago, two_days_ago + timedelta(hours=2))):
            local = at.replace(tzinfo=timezone.utc).astimezone(auckland).date()
            label = thread.locator(".day").nth(n).inner_text()
            ago = (today - local).days
            if ago == 1:
                assert label == "Yesterday"
            else:
                assert f"{local.day} {local.strftime('%B')}" in label and local.strftime("%A") in label, label
    finally:
        context.close()


def test_reading_earlier_messages_is_not_interrupted_by_new_ones(signed_in_page, live_server, monkeypatch):
    from keloa_web import changes
    from keloa_web.inbox import queries
    from keloa_web.models import Conversation

    monkeypatch.setattr(queries, "THREAD_LIMIT", 4)
    start = datetime.utcnow() - timedelta(hours=1)
    with db.session_scope() as s:
        channel = factories.gen_channel(s)
        contact = factories.gen_contact(s, channel, name="Noa", username="noa")
        conv = factories.gen_conversation(s, channel, contact, last_message_preview="message 5")
        for n in range(6):
            factories.gen_message(s, conv, "in", text=f"message {n}", sent_at=start + timedelta(minutes=n))
    page = signed_in_page
    page.goto(f"{live_server}/inbox/c/{conv.id}")
    thread = page.locator("#thread-messages")
    expect(thread).to_contain_text("message 5")
    page.get_by_role("link", name="Show earlier messages").click()
    expect(thread).to_contain_text("message 0")
    expect(thread).not_to_contain_text("message 5")
    expect(thread.get_by_role("status")).to_contain_text("You are reading older messages")

    with db.session_scope() as s:  # the customer writes again while older messages are read
        factories.gen_message(s, s.get(Conversation, conv.id), "in", text="brand new", sent_at=datetime.utcnow())
        s.get(Conversation, conv.id).last_message_preview = "brand new"
        changes.touch(s, conv.id)
    expect(page.locator(f"#conv-{conv.id}")).to_contain_text("brand new", timeout=15_000)  # the list is live
    expect(thread).to_contain_text("message 0")  # ...and the history being read stays put
    expect(thread).not_to_contain_text("brand new")
    page.get_by_role("link", name="Back to the latest").click()
    expect(thread).to_contain_text("brand new")
    expect(page.get_by_role("link", name="Show earlier messages")).to_be_visible()


def test_a_phone_shows_why_the_ai_is_quiet_and_until_when_in_the_readers_time(browser, live_server, admin):
    replied = (datetime.utcnow() - timedelta(minutes=5)).replace(second=0, microsecond=0)
    with db.session_scope() as s:
        agent = factories.gen_agent(s, name="Bea")
        channel = factories.gen_channel(s, agent_id=agent.id, ai_enabled=True)
        conv = factories.gen_conversation(s, channel, factories.gen_contact(s, channel, name="Kiri", username="kiri"))
        factories.gen_message(s, conv, "in", text="Do you ship to Portugal?", sent_at=replied - timedelta(minutes=1))
        factories.gen_message(s, conv, "out", text="Yes, in 3 days.", author_type="user", sent_at=replied)

    context, page = _reader_in_auckland(browser, live_server, 390, 844)
    try:
        page.goto(f"{live_server}/inbox/c/{conv.id}")
        state = page.locator("#window-state")
        expect(state).to_contain_text("AI quiet: a teammate replied until")
        until = (replied + timedelta(minutes=30)).replace(tzinfo=timezone.utc).astimezone(ZoneInfo("Pacific/Auckland"))
        expect(state.locator("time")).to_have_text(until.strftime("%I:%M %p").lower())
        box = state.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390  # it wraps inside the phone's width
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
    finally:
        context.close()
