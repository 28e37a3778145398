"""Inviting a teammate in Chromium: the link is shown with a Copy button that puts it on the
clipboard and says so; the link stays on screen (it is not a passing notice)."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("width", [1280, 390])
def test_the_invitation_link_can_be_copied(signed_in_page, live_server, width):
    page = signed_in_page
    page.set_viewport_size({"width": width, "height": 844})
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server)
    page.goto(f"{live_server}/team/")
    page.get_by_label("Email").fill("new.teammate@example.com")
    page.get_by_role("button", name="Create invitation link").click()
    link = page.get_by_label("Invitation link")
    expect(link).to_be_visible()
    page.get_by_role("button", name="Copy link").click()
    expect(page.get_by_text("Copied.")).to_be_visible()
    assert page.evaluate("() => navigator.clipboard.readText()") == link.input_value()
    assert "/invite/" in link.input_value()
    page.wait_for_timeout(6500)  # longer than a passing notice stays
    expect(link).to_be_visible()
