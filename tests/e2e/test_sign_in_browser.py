"""Sign-in refusals in Chromium: the form is hx-boosted, and htmx leaves 401 and 429 answers
unswapped unless told otherwise, so a wrong password or the throttle showed nothing at all."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("width", [1280, 390])
def test_a_wrong_password_and_the_throttle_are_said_on_the_sign_in_form(page, live_server, admin, tmp_path, width):
    page.set_viewport_size({"width": width, "height": 844})
    page.goto(f"{live_server}/login")
    page.get_by_label("Email").fill("owner@example.com")
    page.get_by_label("Password").fill("not my password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("Wrong email or password.")).to_be_visible()
    expect(page.get_by_label("Email")).to_have_value("owner@example.com")  # nothing typed is lost
    for _ in range(5):  # LOGIN_RATE_LIMIT is 5 in the tests: the next tries wait
        # Each answer is swapped in and then focuses Email (its autofocus): typing before that has
        # happened would land in Email, so wait for it, as a person waits for the form to come back.
        expect(page.get_by_label("Email")).to_be_focused()
        page.get_by_label("Password").fill("still wrong")
        with page.expect_response(lambda r: r.url.endswith("/login") and r.request.method == "POST"):
            page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("Too many failed attempts from this address.")).to_be_visible()
    expect(page.get_by_text("Try again in")).to_be_visible()
    expect(page.get_by_text("Too many failed attempts from this address.")).to_be_in_viewport()
    page.screenshot(path=str(tmp_path / "sign-in-throttled.png"))
