"""Saved views in Chromium: filter the list (Human agent only, closing within 24 h), save it under a
name, see its count beside it, and the count follows a change without reloading."""
from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from keloa_web import changes
from keloa_web.db import db
from tests import factories

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("width", [1280, 390])
def test_save_a_view_and_its_count_stays_live(signed_in_page, live_server, width):
    ch = factories.gen_channel(db.session)
    closing = factories.gen_conversation(db.session, ch, factories.gen_contact(db.session, ch, name="Closing"),
                                         last_customer_ago=timedelta(days=6, hours=12))
    fresh = factories.gen_conversation(db.session, ch, factories.gen_contact(db.session, ch, name="Fresh"),
                                       last_customer_ago=timedelta(hours=1))
    db.session.commit()
    page = signed_in_page
    page.set_viewport_size({"width": width, "height": 844})
    page.goto(f"{live_server}/inbox")
    page.get_by_label("Reply window").select_option("closing")
    expect(page.locator(f"#conv-{fresh.id}")).to_have_count(0)
    expect(page.locator(f"#conv-{closing.id}")).to_be_visible()
    page.get_by_text("Save this view").click()
    page.get_by_role("button", name="Save the filters below").click()
    expect(page.locator("#view-error")).to_contain_text("Name the view")
    page.get_by_label("Name of the view").fill("Closing soon")
    page.get_by_role("button", name="Save the filters below").click()
    view = page.get_by_role("navigation", name="Saved views").get_by_role("link", name="Closing soon")
    expect(view).to_contain_text("1")
    assert page.evaluate("document.documentElement.scrollWidth") <= width

    with db.session_scope() as s:  # another one comes to its last day: the count follows by itself
        conv = s.get(type(fresh), fresh.id)
        conv.last_customer_message_at = conv.last_customer_message_at - timedelta(days=6)
        changes.touch(s, conv.id)
    expect(view.locator(".view-count")).to_have_text("2", timeout=10_000)

    page.goto(f"{live_server}/inbox")
    page.get_by_role("navigation", name="Saved views").get_by_role("link", name="Closing soon").click()
    expect(page.get_by_label("Reply window")).to_have_value("closing")
    expect(page.locator(f"#conv-{closing.id}")).to_be_visible()
