"""An account's Data retention page in Chromium at 1280 and 390 px: a wrong number is said where it
was typed (kept, focused), a setting that deletes data shows what would go and asks to confirm."""
from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from keloa_web.db import db, utcnow
from tests import factories

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("width", [1280, 390])
def test_retention_says_what_would_be_deleted_before_saving(signed_in_page, live_server, app, tmp_path, width):
    page = signed_in_page
    page.set_viewport_size({"width": width, "height": 844})
    channel = factories.gen_channel(db.session)
    old = factories.gen_conversation(db.session, channel, last_customer_ago=timedelta(days=200))
    factories.gen_message(db.session, old, sent_at=utcnow() - timedelta(days=200))
    db.session.commit()
    page.goto(f"{live_server}/integrations/")
    page.get_by_role("link", name="Data retention").click()
    expect(page.get_by_role("heading", name=f"Data retention: {channel.label}")).to_be_visible()
    page.get_by_label("Keep for (days)").fill("six months")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Enter a number of days from 1 to 3650")).to_be_visible()
    expect(page.get_by_label("Keep for (days)")).to_have_value("six months")
    expect(page.get_by_label("Keep for (days)")).to_be_focused()
    page.get_by_label("Keep for (days)").fill("180")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Saving this deletes data at once.")).to_be_visible()
    expect(page.get_by_text("Would delete 1 conversation (1 message, 0 media files) with no activity for 180 days."
                            )).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    page.screenshot(path=str(tmp_path / f"retention-preview-{width}.png"), full_page=True)
    page.get_by_role("button", name="Save and delete this data").click()
    expect(page.get_by_text(f"{channel.label} keeps conversations for 180 days.")).to_be_visible()
    expect(page.get_by_label("Keep for (days)")).to_have_value("180")
