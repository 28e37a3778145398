"""The Reports page in Chromium at 1280 and 390 px: the figures, the charts drawn and readable
(inside the page, no sideways scroll), a wrong period said where it was chosen, a CSV download."""
from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from keloa_web.db import db, utcnow
from tests import factories

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("width", [1280, 390])
def test_reports_show_figures_and_charts_that_fit(signed_in_page, live_server, app, tmp_path, width):
    page = signed_in_page
    page.set_viewport_size({"width": width, "height": 900})
    channel = factories.gen_channel(db.session)
    for days in (1, 2, 2, 5):
        at = utcnow() - timedelta(days=days)
        conv = factories.gen_conversation(db.session, channel, created_at=at, first_reply_at=at + timedelta(minutes=7))
        factories.gen_message(db.session, conv, sent_at=at)
    db.session.commit()
    page.goto(f"{live_server}/reports/")
    expect(page.get_by_role("heading", name="Reports")).to_be_visible()
    expect(page.locator(".tile").filter(has_text="conversations opened")).to_contain_text("4")
    expect(page.locator(".tile").filter(has_text="first response")).to_contain_text("7 min")
    chart = page.get_by_role("img", name="Conversations opened per day")
    expect(chart).to_be_visible()
    box = chart.bounding_box()
    assert box["width"] > 250 and box["x"] + box["width"] <= width
    expect(page.get_by_role("img", name="Customer messages by weekday and hour")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    page.screenshot(path=str(tmp_path / f"reports-{width}.png"), full_page=True)
    with page.expect_download() as download:
        page.locator("#days-title").locator("..").get_by_role("link", name="Download CSV").click()
    assert download.value.suggested_filename.startswith("keloa-days-")
    page.locator("#report-period").select_option("custom")
    page.get_by_role("textbox", name="From").fill("2026-11-20")
    page.get_by_role("textbox", name="To").fill("2026-11-01")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_text("The period ends before it starts: swap the days.")).to_be_visible()
    expect(page.get_by_role("textbox", name="From")).to_have_value("2026-11-20")


def test_a_transcript_downloads_from_the_thread(signed_in_page, live_server):
    page = signed_in_page
    with db.session_scope() as s:
        conv = factories.gen_conversation(s, factories.gen_channel(s))
        factories.gen_message(s, conv, text="Is the ring in stock?")
        conv_id = conv.id
    page.goto(f"{live_server}/inbox/c/{conv_id}")
    page.get_by_text("Export", exact=True).click()
    with page.expect_download() as download:
        page.get_by_role("link", name="Transcript as CSV").click()
    assert download.value.suggested_filename == f"keloa-conversation-{conv_id}.csv"
    assert "Is the ring in stock?" in open(download.value.path(), encoding="utf-8").read()
    with page.expect_download() as download:
        page.get_by_role("link", name="Transcript as JSON").click()
    assert download.value.suggested_filename == f"keloa-conversation-{conv_id}.json"
