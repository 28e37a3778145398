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



def test_on_a_phone_every_column_of_the_team_and_sessions_tables_is_on_screen(signed_in_page, live_server, app):
    """At 390 px the tables stack each row: every cell, with its column's name, within the screen."""
    from tests import helpers

    helpers.make_user(app, email="sam.longname-teammate@example.com", name="Sam Teammate", role="agent")
    page = signed_in_page
    page.set_viewport_size({"width": 390, "height": 844})
    for path, last in (("/team/", "Deactivate"), ("/settings", "This browser")):
        page.goto(f"{live_server}{path}")
        row_end = page.get_by_text(last, exact=True).first
        expect(row_end).to_be_visible()
        box = row_end.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390, (path, box)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.goto(f"{live_server}/team/")
    sam = page.locator("tr", has_text="Sam Teammate")
    expect(sam.locator("td[data-label=Status]")).to_have_text("Active")
    label = sam.locator("td[data-label=Status]").evaluate("td => getComputedStyle(td, '::before').content")
    assert label == '"Status"'  # each cell says which column it is
