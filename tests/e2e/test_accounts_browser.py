"""Accounts in Chromium, with mail through a real SMTP server on loopback: an invitation read from
its email and accepted, a password reset from "Forgot password?", two-factor set-up (the code
computed from the key the page shows, as an authenticator app would) and sign-in with it, a
backup-code sign-in, and the team's "required for admins" rule sending an admin to the set-up."""
from __future__ import annotations

import time

import pyotp
import pytest
from playwright.sync_api import expect

from tests import helpers

pytestmark = pytest.mark.e2e
PASSWORD = "correct horse battery"


def _sign_in(page, live_server, email="owner@example.com", password=PASSWORD):
    page.goto(f"{live_server}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    # The form is hx-boosted: wait for the answer (and where it leads) before going on.
    with page.expect_response(lambda r: r.url.endswith("/login") and r.request.method == "POST"):
        page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_load_state()


def _no_sideways_scroll(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def test_an_invitation_arrives_by_email_and_its_link_makes_the_account(browser, page, live_server, admin, mailbox,
                                                                        tmp_path):
    _sign_in(page, live_server)
    page.goto(f"{live_server}/team/")
    page.get_by_label("Email").fill("tess@example.com")
    page.get_by_role("button", name="Create invitation link").click()
    expect(page.get_by_text("Invitation emailed to tess@example.com.")).to_be_visible()
    (mail,) = helpers.deliver_mail(mailbox, 1)
    assert mail["Subject"] == "Olivia Owner invites you to Keloa"
    link = helpers.mail_link(mail, r"invite/[\w-]+")
    context = browser.new_context(viewport={"width": 390, "height": 844})
    tess = context.new_page()
    tess.goto(live_server + link)
    tess.get_by_label("Your name").fill("Tess")
    tess.get_by_label("Password", exact=True).fill("a long password 1")
    tess.get_by_label("Repeat password").fill("a long password 1")
    tess.get_by_role("button", name="Create my account").click()
    expect(tess.get_by_text("Welcome to the team.")).to_be_visible()
    _no_sideways_scroll(tess)
    tess.screenshot(path=str(tmp_path / "invitation-accepted-390.png"))
    tess.goto(live_server + link)  # used once: dead
    expect(tess.get_by_text("This invitation link was already used.")).to_be_visible()
    context.close()


def test_forgot_password_emails_a_link_that_sets_a_new_one(page, live_server, admin, mailbox):
    page.goto(f"{live_server}/login")
    page.get_by_role("link", name="Forgot password?").click()
    page.get_by_label("Email").fill("owner@example.com")
    page.get_by_role("button", name="Send me a link").click()
    expect(page.get_by_text("If an account uses that address, we have emailed it a link")).to_be_visible()
    (mail,) = helpers.deliver_mail(mailbox, 1)
    page.goto(live_server + helpers.mail_link(mail, r"reset/[\w-]+"))
    page.get_by_label("Password", exact=True).fill("short")
    page.get_by_label("Repeat password").fill("short")
    page.get_by_role("button", name="Set the new password").click()
    expect(page.get_by_text("Use at least 10 characters.")).to_be_visible()
    page.get_by_label("Password", exact=True).fill("a brand new password")
    page.get_by_label("Repeat password").fill("a brand new password")
    page.get_by_role("button", name="Set the new password").click()
    expect(page.get_by_text("Your new password is set")).to_be_visible()
    _sign_in(page, live_server, password="a brand new password")
    expect(page.get_by_role("heading", name="Inbox", exact=True)).to_be_visible()


def _turn_on_two_factor(page, live_server, started: bool = False) -> tuple[str, list[str]]:
    page.goto(f"{live_server}/settings")
    page.get_by_role("link", name="Set up two-factor sign-in").click()
    if not started:
        page.get_by_role("button", name="Set up two-factor sign-in").click()
    expect(page.get_by_role("img", name="QR code to scan with your authenticator app")).to_be_visible()
    page.get_by_text("Cannot scan? Type the key instead").click()
    secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    page.get_by_label("Code from the app").fill("000000" if pyotp.TOTP(secret).now() != "000000" else "111111")
    page.get_by_role("button", name="Turn on").click()
    expect(page.get_by_text("That code is not right.")).to_be_visible()
    expect(page.get_by_label("Code from the app")).to_be_focused()  # the error is where the person typed
    page.get_by_label("Code from the app").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Turn on").click()
    expect(page.get_by_text("Save these now: Keloa shows them only this once.")).to_be_visible()
    codes = page.locator("#backup-code-list code").all_inner_texts()
    assert len(codes) == 10
    page.get_by_role("link", name="I have saved them").click()
    expect(page.get_by_text("10 of 10 backup codes left.")).to_be_visible()
    return secret, codes


@pytest.mark.parametrize("width", [1280, 390])
def test_two_factor_set_up_then_sign_in_with_the_app_code_and_with_a_backup_code(page, live_server, admin, tmp_path,
                                                                                  width):
    page.set_viewport_size({"width": width, "height": 900})
    _sign_in(page, live_server)
    page.goto(f"{live_server}/settings/two-factor")
    page.get_by_role("button", name="Set up two-factor sign-in").click()
    expect(page.locator(".qr-box svg")).to_be_visible()
    box = page.locator(".qr-box").bounding_box()
    assert box["width"] >= 150 and box["x"] + box["width"] <= width  # whole and scannable at this width
    _no_sideways_scroll(page)
    page.screenshot(path=str(tmp_path / f"two-factor-setup-{width}.png"), full_page=True)
    secret, codes = _turn_on_two_factor(page, live_server, started=True)

    page.get_by_role("button", name="Sign out").click()
    _sign_in(page, live_server)
    expect(page.get_by_role("heading", name="Two-factor sign-in")).to_be_visible()
    expect(page.get_by_label("Authentication code")).to_be_focused()
    page.get_by_label("Authentication code").fill("123")
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_text("That code is not right, or was already used.")).to_be_visible()
    _no_sideways_scroll(page)
    page.screenshot(path=str(tmp_path / f"two-factor-code-wrong-{width}.png"))
    # The set-up used the code of this 30-second step; an app shows the next one half a minute later.
    page.get_by_label("Authentication code").fill(pyotp.TOTP(secret).at(time.time() + 30))
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("heading", name="Inbox", exact=True)).to_be_visible()

    page.get_by_role("button", name="Sign out").click()
    _sign_in(page, live_server)
    page.get_by_label("Authentication code").fill(codes[3])
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_text("Signed in with a backup code: 9 left.")).to_be_visible()


def test_required_for_admins_sends_an_admin_without_it_to_the_set_up(browser, page, live_server, admin, app):
    helpers.make_user(app, email="second@example.com", name="Sam Second", role="admin")
    _sign_in(page, live_server)
    page.goto(f"{live_server}/team/")
    page.get_by_label("Who must use it").select_option("admins")
    page.get_by_role("button", name="Save the rule").click()
    expect(page.get_by_text("Nothing was saved: set up two-factor sign-in for yourself first")).to_be_visible()
    expect(page.get_by_text("Now: Not required.")).to_be_visible()
    expect(page.get_by_label("Who must use it")).to_have_value("admins")  # the choice is kept
    _turn_on_two_factor(page, live_server)
    page.goto(f"{live_server}/team/")
    page.get_by_label("Who must use it").select_option("admins")
    page.get_by_role("button", name="Save the rule").click()
    expect(page.get_by_text("Admins must use two-factor sign-in")).to_be_visible()

    context = browser.new_context(viewport={"width": 390, "height": 844})
    sam = context.new_page()
    _sign_in(sam, live_server, email="second@example.com")
    expect(sam.get_by_text("Your team requires two-factor sign-in: set it up to continue.").first).to_be_visible()
    assert sam.url.endswith("/settings/two-factor")
    sam.goto(f"{live_server}/inbox")  # anything else leads back to the set-up
    assert sam.url.endswith("/settings/two-factor")
    expect(sam.get_by_role("button", name="Set up two-factor sign-in")).to_be_visible()
    context.close()
