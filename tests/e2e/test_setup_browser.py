"""Creating the owner account in Chromium: the password rule is said before a try, a refused form
keeps what was typed, says why beside the field, and puts the keyboard on that field."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("width", [1280, 390])
def test_a_short_password_is_said_beside_its_field_which_gets_the_keyboard(page, live_server, width):
    page.set_viewport_size({"width": width, "height": 844})
    page.goto(f"{live_server}/setup")
    expect(page.get_by_text("At least 10 characters.")).to_be_visible()
    page.get_by_label("Your name").fill("Olivia Owner")
    page.get_by_label("Email").fill("owner@example.com")
    page.get_by_label("Password", exact=True).fill("short")
    page.get_by_label("Repeat password").fill("short")
    page.get_by_role("button", name="Create owner account").click()
    password = page.get_by_label("Password", exact=True)
    expect(page.get_by_text("Use at least 10 characters.")).to_be_visible()
    expect(password).to_be_focused()
    expect(password).to_have_attribute("aria-describedby", "password-errors")
    expect(page.get_by_label("Email")).to_have_value("owner@example.com")
    expect(page.get_by_text("At least 10 characters.", exact=True)).to_have_count(0)  # the error says it now
