"""Snooze in Chromium, for a reader in Auckland: "Tomorrow, 9:00" means 9:00 in Auckland, the thread
says until when in the reader's time, the conversation leaves the Open list, and a time that has
passed is refused in the snooze menu."""
from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from keloa_web.db import db, utcnow
from keloa_web.models import Conversation
from tests import factories
from tests.e2e.test_thread_browser import _reader_in_auckland

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("width,height", [(1280, 900), (390, 844)])
def test_snooze_until_tomorrow_morning_in_the_readers_zone(browser, live_server, admin, width, height):
    with db.session_scope() as s:
        ch = factories.gen_channel(s)
        conv = factories.gen_conversation(s, ch, factories.gen_contact(s, ch, name="Maya"),
                                          last_customer_ago=timedelta(minutes=3))
        factories.gen_message(s, conv, "in", text="I'll check with my sister and come back to you")
        conv_id = conv.id
    context, page = _reader_in_auckland(browser, live_server, width, height)
    try:
        page.goto(f"{live_server}/inbox/c/{conv_id}")
        page.locator("#snooze-menu summary").click()
        panel = page.locator("#snooze-menu .label-picker").bounding_box()
        assert panel["x"] >= 0 and panel["x"] + panel["width"] <= width, panel  # never cut off, on a phone too
        page.get_by_label("Or until (your time)").fill("2020-01-01T10:00")
        page.get_by_role("button", name="Snooze until then").click()
        expect(page.locator("#snooze-error")).to_have_text("That time has passed: choose a later one.")
        expect(page.locator("#snooze-menu")).to_have_attribute("open", "")
        assert page.evaluate("document.documentElement.scrollWidth") <= width

        page.get_by_role("button", name="Tomorrow, 9:00").click()
        expect(page.locator("#snooze-state")).to_contain_text("Snoozed until")
        expect(page.locator("#snooze-state time")).to_contain_text("09:00")
        auckland = ZoneInfo("Pacific/Auckland")
        tomorrow = datetime.now(auckland).date() + timedelta(days=1)
        expected = datetime.combine(tomorrow, time(9), auckland).astimezone(timezone.utc).replace(tzinfo=None)
        db.session.expire_all()
        assert db.session.get(Conversation, conv_id).snoozed_until == expected
        assert expected > utcnow()

        page.goto(f"{live_server}/inbox")
        expect(page.locator(f"#conv-{conv_id}")).to_have_count(0)
        page.get_by_label("Status").select_option("snoozed")
        expect(page.locator(f"#conv-{conv_id}")).to_contain_text("Snoozed")
    finally:
        context.close()
