"""First run and status text in Chromium, at 1280 and 390 px: the sandbox steps after sign-up, the
getting-started checklist ticking itself off, cards that never contradict themselves, the agent
form showing its backend's fields, and the count of new notifications in the title."""
from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from keloa_web.db import db
from tests import factories

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("width", [1280, 390])
def test_a_first_run_reads_true_at_both_widths(app, signed_in_page, live_server, width, tmp_path):
    page = signed_in_page
    page.set_viewport_size({"width": width, "height": 900})
    app.config["SANDBOX_URL"] = "http://127.0.0.1:8081"
    page.goto(f"{live_server}/integrations/")
    tips = page.locator("#sandbox-tips")
    expect(tips).to_contain_text("continue as Ana Admin")
    expect(tips.get_by_role("link", name="http://127.0.0.1:8081/customer")).to_be_visible()

    page.goto(f"{live_server}/inbox")
    checklist = page.locator(".getting-started.only-narrow" if width < 760 else ".getting-started.only-wide")
    # on a phone under the empty list (its first screen), beside it on wide screens
    expect(checklist).to_be_visible()
    expect(checklist.get_by_role("link", name="Connect an Instagram account")).to_be_visible()

    with db.session_scope() as s:
        channel = factories.gen_channel(s, display_name="Keloa Coffee", backfill_state="done", backfill_total=1)
        gone = factories.gen_channel(s, display_name="Old Shop", status="disconnected")
        conv = factories.gen_conversation(s, channel, unread_count=3, last_customer_ago=timedelta(minutes=2))
        factories.gen_message(s, conv, "in", text="Hello there")
        from keloa_web.notifications import notify

        notify.new_conversation(s, conv, "Hello there")  # as ingest does for a customer's first message
        factories.gen_conversation(s, gone)
        factories.gen_agent(s, name="Bea")
    page.goto(f"{live_server}/inbox")
    expect(page).to_have_title("(1) Inbox · Keloa")
    row = page.locator(".conv-row", has_text="Old Shop")
    expect(row).to_contain_text("Disconnected")
    expect(row).not_to_contain_text("Window open")
    if width >= 760:  # on a phone the list now has a row, and the checklist stays on wide screens only
        expect(checklist.locator("li.done", has_text="Connect an Instagram account")).to_be_visible()
        expect(checklist.locator("li.done", has_text="Receive a message from a customer")).to_be_visible()
        expect(checklist.locator("li.todo", has_text="Reply from Keloa")).to_be_visible()

    page.goto(f"{live_server}/integrations/")
    coffee = page.locator("article.channel", has_text="Keloa Coffee")
    expect(coffee).to_contain_text("Imported 1 recent conversation")
    expect(coffee).not_to_contain_text("No messages yet?")
    old = page.locator("article.channel", has_text="Old Shop")
    expect(old.get_by_label("Send read receipts")).to_have_count(0)
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width

    page.goto(f"{live_server}/agents/")
    page.get_by_role("link", name="Bea").click()
    expect(page.locator("fieldset.model-settings")).to_be_hidden()
    page.select_option("select[name=backend]", "openai")
    expect(page.get_by_label("Base URL")).to_be_visible()
    page.screenshot(path=str(tmp_path / f"agent-{width}.png"), full_page=True)
