"""The contact panel in Chromium: beside the thread at 1280 px (hidden and shown again by its
button, remembered), its own screen at 390 px; attributes and notes saved from it, a bad value
said beside the field with the keyboard on it."""
from __future__ import annotations

import os
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from keloa_web.db import db
from keloa_web.models import ContactField
from tests import factories

pytestmark = pytest.mark.e2e
SHOTS = os.environ.get("KELOA_SHOTS_DIR")


def _customer():
    north = factories.gen_channel(db.session, display_name="Fern & Silver")
    south = factories.gen_channel(db.session, display_name="Fern Outlet")
    maya = factories.gen_contact(db.session, north, name="Maya Lopes", username="maya.lopes", follower_count=1234,
                                 is_user_follow_business=True)
    conv = factories.gen_conversation(db.session, north, maya, last_customer_ago=timedelta(minutes=3))
    factories.gen_message(db.session, conv, "in", text="Is the silver ring back in stock?")
    factories.gen_conversation(db.session, south, factories.gen_contact(db.session, south, name="Maya", username="maya.lopes"),
                               status="resolved")
    db.session.add_all([ContactField(name="Ring size", kind="number", position=1),
                        ContactField(name="Tier", kind="list", options=["Bronze", "Gold"], position=2)])
    db.session.commit()
    return conv


def test_the_panel_beside_the_thread_at_1280(signed_in_page, live_server):
    conv = _customer()
    page = signed_in_page
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{live_server}/inbox/c/{conv.id}")
    panel = page.locator("#contact-panel")
    expect(panel).to_be_visible()
    expect(panel).to_contain_text("@maya.lopes")
    expect(panel).to_contain_text("1,234 followers")
    expect(panel.get_by_role("link", name="Fern Outlet")).to_be_visible()
    box, thread = panel.bounding_box(), page.locator("#thread-messages").bounding_box()
    assert box["x"] >= thread["x"] + thread["width"] - 1 and box["width"] >= 280  # a column to the thread's right
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280

    panel.get_by_label("Ring size").fill("seven")
    panel.get_by_role("button", name="Save attributes").click()
    expect(panel.get_by_role("alert")).to_have_text("Ring size is a number, such as 42 or 3.5.")
    expect(panel.get_by_label("Ring size")).to_be_focused()
    panel.get_by_label("Ring size").fill("7")
    panel.get_by_label("Tier").select_option("Gold")
    panel.get_by_role("button", name="Save attributes").click()
    expect(panel.get_by_role("status")).to_have_text("Attributes saved.")
    panel.get_by_label("A note about this contact").fill("Buys gifts for her sister")
    panel.get_by_role("button", name="Add note").click()
    expect(panel.locator(".contact-notes")).to_contain_text("Buys gifts for her sister")
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/contact-panel-1280.png")

    toggle = page.locator(".contact-toggle")
    expect(toggle).to_have_attribute("aria-expanded", "true")
    toggle.click()
    expect(panel).to_be_hidden()
    expect(toggle).to_have_attribute("aria-expanded", "false")
    page.reload()  # remembered in this browser
    expect(page.locator("#contact-panel")).to_be_hidden()
    page.locator(".contact-toggle").click()
    expect(page.locator("#contact-panel")).to_be_visible()
    expect(page.locator("#contact-panel-title")).to_be_focused()
    expect(page.locator("#contact-panel").get_by_label("Ring size")).to_have_value("7")


def test_the_panel_is_its_own_screen_at_390(signed_in_page, live_server):
    conv = _customer()
    page = signed_in_page
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server}/inbox/c/{conv.id}")
    expect(page.locator("#contact-panel")).to_be_hidden()
    page.locator("a.contact-link").click()
    expect(page).to_have_url(f"{live_server}/inbox/c/{conv.id}/contact")
    panel = page.locator("#contact-panel")
    expect(panel).to_be_visible()
    expect(panel).to_contain_text("Maya Lopes")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    panel.get_by_label("A note about this contact").fill("Call after 5 pm")
    panel.get_by_role("button", name="Add note").click()
    expect(panel.locator(".contact-notes")).to_contain_text("Call after 5 pm")
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/contact-panel-390.png", full_page=True)
    page.get_by_role("link", name="Back to the conversation").click()
    expect(page.locator("#thread-messages")).to_contain_text("silver ring back in stock")
