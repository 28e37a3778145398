"""Labels in Chromium: an admin adds one, puts it on a conversation from the thread, sees it in the
thread and the list, and filters the list by it."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from keloa_web.db import db
from tests import factories

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("width", [1280, 390])
def test_label_a_conversation_and_filter_by_it(signed_in_page, live_server, width):
    channel = factories.gen_channel(db.session, display_name="Fern & Silver")
    maya = factories.gen_conversation(db.session, channel, factories.gen_contact(db.session, channel, name="Maya"),
                                      last_customer_ago=timedelta(minutes=3))
    factories.gen_message(db.session, maya, "in", text="my ring arrived bent")
    leo = factories.gen_conversation(db.session, channel, factories.gen_contact(db.session, channel, name="Leo"),
                                     last_customer_ago=timedelta(minutes=1))
    factories.gen_message(db.session, leo, "in", text="hello")
    db.session.commit()
    page = signed_in_page
    page.set_viewport_size({"width": width, "height": 844})

    page.goto(f"{live_server}/labels/")
    page.get_by_label("Name").fill("")
    page.get_by_role("button", name="Add label").click()
    expect(page.locator("#label-new")).to_contain_text("Give the label a name")
    page.get_by_label("Name").fill("Order issue")
    page.get_by_label("Colour").select_option("red")
    page.get_by_role("button", name="Add label").click()
    expect(page.locator("#flash")).to_contain_text("Added the label “Order issue”.")
    assert page.evaluate("document.documentElement.scrollWidth") <= width

    page.goto(f"{live_server}/inbox/c/{maya.id}")
    page.locator("#label-menu summary").click()
    page.locator("#label-menu").get_by_label("Order issue").check()
    page.get_by_role("button", name="Apply labels").click()
    expect(page.locator("#thread-labels")).to_have_text("Order issue")
    assert page.evaluate("document.documentElement.scrollWidth") <= width

    page.goto(f"{live_server}/inbox")
    expect(page.locator(f"#conv-{maya.id} .label")).to_have_text("Order issue")
    page.get_by_label("Label", exact=True).select_option(label="Order issue")
    expect(page.locator(f"#conv-{leo.id}")).to_have_count(0)
    expect(page.locator(f"#conv-{maya.id}")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/inbox\?.*label=\d+"))  # the filtered list has its own address
