"""Bulk actions in Chromium: "Select", tick one, shift-click a range, resolve them; "All in this
view" with a label from "More"; at 1280 and 390 px, nothing wider than the screen."""
from __future__ import annotations

import os
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from keloa_web.db import db
from keloa_web.models import Conversation, Label
from tests import factories

pytestmark = pytest.mark.e2e
SHOTS = os.environ.get("KELOA_SHOTS_DIR")


@pytest.mark.parametrize("width", [1280, 390])
def test_select_a_range_and_resolve_then_label_all_in_view(signed_in_page, live_server, width):
    ch = factories.gen_channel(db.session, display_name="Fern & Silver")
    convs = [factories.gen_conversation(db.session, ch, factories.gen_contact(db.session, ch, name=f"Customer {i}"),
                                        last_customer_ago=timedelta(minutes=10 - i)) for i in range(5)]
    db.session.add(Label(name="Wholesale", color="teal"))
    db.session.commit()
    page = signed_in_page
    page.set_viewport_size({"width": width, "height": 844})
    page.goto(f"{live_server}/inbox")
    expect(page.locator(".bulk-check").first).to_be_hidden()  # checkboxes only while selecting
    page.get_by_role("button", name="Select").click()
    # Newest first: Customer 4, 3, 2, 1, 0. Tick 4, shift-click 2: 4, 3 and 2.
    page.get_by_label("Select Customer 4").check()
    page.get_by_label("Select Customer 2").click(modifiers=["Shift"])
    expect(page.locator("#bulk-count")).to_have_text("3 selected")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/bulk-{width}.png")
    page.locator("#bulk-form").get_by_role("button", name="Resolve").click()
    expect(page.locator("#flash")).to_contain_text("Resolved 3 conversations.")
    for i in (4, 3, 2):
        expect(page.locator(f"#conv-{convs[i].id}")).to_have_count(0)
    expect(page.locator(f"#conv-{convs[1].id}")).to_be_visible()
    expect(page.locator("#bulk-count")).to_have_text("0 selected")

    page.get_by_label("All in this view").check()
    expect(page.locator("#bulk-count")).to_have_text("All in this view")
    page.locator(".bulk-more summary").click()
    page.locator("#bulk-form").get_by_label("Label").select_option(label="Wholesale")
    page.locator("#bulk-form").get_by_role("button", name="Add label").click()
    expect(page.locator("#flash")).to_contain_text("Labelled 2 conversations “Wholesale”.")
    expect(page.locator(f"#conv-{convs[0].id} .label")).to_have_text("Wholesale")
    db.session.rollback()
    db.session.expire_all()
    assert [db.session.get(Conversation, c.id).status for c in convs] == ["open", "open", "resolved", "resolved", "resolved"]
    page.get_by_role("button", name="Done").click()
    expect(page.locator(".bulk-check").first).to_be_hidden()
