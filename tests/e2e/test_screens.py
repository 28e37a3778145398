"""The main screens at phone (390 px), tablet (768 px) and desktop (1280 px) widths: nothing wider
than the screen, the navigation a menu on phones. Screenshots are kept under artifacts/screens/
(or KELOA_SCREENS_DIR) for a person to look at."""
from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from keloa_web.db import db, utcnow
from keloa_web.models import SavedReply
from tests import factories

pytestmark = pytest.mark.e2e
SCREENS = Path(os.environ.get("KELOA_SCREENS_DIR") or Path(__file__).resolve().parents[2] / "artifacts" / "screens")


@pytest.mark.parametrize("width,height", [(390, 844), (768, 1024), (1280, 900)])
def test_main_screens_fit_and_navigate(signed_in_page, live_server, admin, width, height):
    page = signed_in_page
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": width, "height": height})
    with db.session_scope() as s:
        channel = factories.gen_channel(s, display_name="Keloa Coffee", ig_username="keloa.coffee")
        maya = factories.gen_contact(s, channel, name="Maya Lopez", username="maya.lopez", follower_count=1234,
                                     is_user_follow_business=True)
        conv = factories.gen_conversation(s, channel, maya, last_message_preview="Yes, we do! A table for two…")
        asked = factories.gen_message(s, conv, "in", text="Do you have oat milk? And is there a table free at 6?")
        factories.gen_message(s, conv, "out", text="Yes, we do! A table for two is free at six.",
                              author_user_id=admin.id, reply_to_mid=asked.mid)
        leo = factories.gen_contact(s, channel, name="Leo Park", username="leopark")
        other = factories.gen_conversation(s, channel, leo, unread_count=2, last_message_preview="Are you open on Sunday?")
        factories.gen_message(s, other, "in", text="Are you open on Sunday?")
        s.add(SavedReply(name="oat-milk", text="Hi {{first_name}}! Yes, oat, soy and almond milk at no extra cost."))
        for days, minutes in ((1, 4), (2, 11), (2, 35), (3, 6), (5, 90), (6, 3)):  # for the Reports page
            at = utcnow() - timedelta(days=days, hours=days * 3)
            past = factories.gen_conversation(s, channel, created_at=at, first_reply_at=at + timedelta(minutes=minutes),
                                              status="resolved")
            factories.gen_message(s, past, "in", sent_at=at, text="Hello!")
            factories.gen_message(s, past, "out", sent_at=at + timedelta(minutes=minutes), author_user_id=admin.id)
        conv_id = conv.id
    for name, path in (("inbox", "/inbox"), ("thread", f"/inbox/c/{conv_id}"), ("integrations", "/integrations/"),
                       ("replies", "/replies/"), ("agents", "/agents/"), ("team", "/team/"), ("settings", "/settings"),
                       ("events", "/admin/events/"), ("reports", "/reports/"), ("two-factor", "/settings/two-factor")):
        page.goto(f"{live_server}{path}")
        page.screenshot(path=str(SCREENS / f"{name}-{width}.png"), full_page=True)
        scroll_width = page.evaluate("() => document.documentElement.scrollWidth")
        assert scroll_width <= width, f"{path} is {scroll_width} px wide at {width}"
    menu = page.get_by_role("button", name="Menu")
    nav = page.get_by_role("navigation", name="Main")
    if width < 760:
        expect(nav).to_be_hidden()
        menu.click()
        expect(menu).to_have_attribute("aria-expanded", "true")
        expect(nav.get_by_role("link", name="Settings")).to_be_visible()
        nav.get_by_role("link", name="Team").click()
        expect(page.get_by_role("heading", name="Team", exact=True)).to_be_visible()
    else:
        expect(menu).to_be_hidden()
        expect(nav.get_by_role("link", name="Settings")).to_be_visible()


@pytest.mark.parametrize("width,height", [(390, 844), (1280, 900)])
def test_a_teammates_screens_fit_and_show_only_their_areas(page, live_server, agent_user, width, height):
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": width, "height": height})
    page.goto(f"{live_server}/login")
    page.get_by_label("Email").fill("agent@example.com")
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{live_server}/inbox")
    with db.session_scope() as s:
        conv = factories.gen_conversation(s)
        factories.gen_message(s, conv, "in", text="Is the terrace open today?")
        conv_id = conv.id
    for name, path in (("agent-inbox", "/inbox"), ("agent-thread", f"/inbox/c/{conv_id}"), ("agent-settings", "/settings")):
        page.goto(f"{live_server}{path}")
        page.screenshot(path=str(SCREENS / f"{name}-{width}.png"), full_page=True)
        assert page.evaluate("() => document.documentElement.scrollWidth") <= width, path
    expect(page.get_by_text("Getting started")).to_have_count(0)
    if width < 760:
        page.get_by_role("button", name="Menu").click()
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link")).to_have_text(["Inbox", "Saved replies", "Reports", "Settings"])
    page.goto(f"{live_server}/inbox/c/{conv_id}")
    expect(page.get_by_text("Delete this contact's data…")).to_have_count(0)
