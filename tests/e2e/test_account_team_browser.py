"""An account's Team page in Chromium, at 1280 and 390 px: restrict who sees the account, choose
round-robin and the first-reply flag (a wrong number said beside the field, kept and focused), and
the Online/Away toggle at the top of the page."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from keloa_web.db import db
from tests import factories, helpers

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("width", [1280, 390])
def test_restrict_an_account_and_assign_in_turn(signed_in_page, live_server, app, width):
    helpers.make_user(app, email="bob@example.com", name="Bob Barista", role="agent")
    helpers.make_user(app, email="cy@example.com", name="Cy Cashier", role="agent")
    channel = factories.gen_channel(db.session, display_name="Fern & Silver")
    db.session.commit()
    page = signed_in_page
    page.set_viewport_size({"width": width, "height": 844})
    page.goto(f"{live_server}/integrations/channels/{channel.id}/team")
    access = page.locator("#access")
    access.get_by_label("Only admins and these teammates:").check()
    access.get_by_label("Bob Barista").check()
    access.get_by_role("button", name="Save who sees it").click()
    expect(access.get_by_role("status")).to_have_text("Only admins and Bob Barista see Fern & Silver.")
    expect(page.locator("#rules")).to_contain_text("In turn now: Bob Barista, Olivia Owner.")  # refreshed along

    rules = page.locator("#rules")
    rules.get_by_label("Assigned in turn (round-robin) to the teammates who see this account and are online").check()
    field = rules.get_by_label("Flag a conversation waiting longer than this without a first reply (minutes)")
    field.fill("half an hour")
    rules.get_by_role("button", name="Save assignment").click()
    expect(rules.get_by_role("alert")).to_contain_text("Give the wait in whole minutes")
    expect(field).to_have_value("half an hour")
    expect(field).to_be_focused()
    field.fill("30")
    rules.get_by_role("button", name="Save assignment").click()
    expect(rules.get_by_role("status")).to_contain_text("New conversations are assigned in turn.")
    assert page.evaluate("document.documentElement.scrollWidth") <= width

    toggle = page.locator(".status-toggle")
    expect(toggle).to_contain_text("Online")
    toggle.click()
    expect(page.locator("#flash")).to_contain_text("You are away")
    expect(page.locator(".status-toggle")).to_contain_text("Away")
    page.goto(f"{live_server}/integrations/channels/{channel.id}/team")
    expect(page.locator("#rules")).to_contain_text("In turn now: Bob Barista.")
