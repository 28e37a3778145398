"""Times and day separators follow the reader's time zone, not the server's UTC."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from keloa_web.db import db
from tests import factories

pytestmark = pytest.mark.e2e


def test_thread_days_and_times_are_the_readers_own(browser, live_server, admin):
    two_days_ago = (datetime.utcnow() - timedelta(days=2)).replace(hour=10, minute=0, second=0, microsecond=0)
    with db.session_scope() as s:
        channel = factories.gen_channel(s)
        contact = factories.gen_contact(s, channel, name="Kiri", username="kiri")
        conv = factories.gen_conversation(s, channel, contact, last_message_preview="see you")
        # One UTC day, but 23:00 and 01:00 on two days in Auckland (UTC+13 in summer).
        factories.gen_message(s, conv, "in", text="late evening", sent_at=two_days_ago)
        factories.gen_message(s, conv, "in", text="after midnight", sent_at=two_days_ago + timedelta(hours=2))

    context = browser.new_context(viewport={"width": 1280, "height": 900}, timezone_id="Pacific/Auckland",
                                  locale="en-NZ")
    try:
        page = context.new_page()
        page.goto(f"{live_server}/login")
        page.get_by_label("Email").fill("owner@example.com")
        page.get_by_label("Password").fill("correct horse battery")
        page.get_by_role("button", name="Sign in").click()
        expect(page).to_have_url(f"{live_server}/inbox")
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
