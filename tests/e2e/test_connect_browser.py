"""Connect through Facebook in Chromium: Meta's dialog (sandbox), Page picker, card, a setting, disconnect."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e


def test_connect_toggle_and_disconnect(sandbox, app, live_server, signed_in_page, tmp_path):
    page = signed_in_page
    page.goto(f"{live_server}/integrations/")
    expect(page.get_by_text("No Instagram account connected yet")).to_be_visible()
    page.get_by_role("button", name="Connect through Facebook").click()

    # The sandbox's Facebook Login dialog: continue as Ana with every permission.
    expect(page.get_by_text("is requesting access")).to_be_visible()
    page.get_by_label(re.compile("Ana Admin")).check()
    page.get_by_role("button", name="Continue").click()

    page.wait_for_url(re.compile(r"/integrations/meta/pages"))
    expect(page.get_by_text("Signed in with Meta as")).to_be_visible()
    coffee = page.locator("li.page-row", has_text="Keloa Coffee")
    expect(coffee.get_by_text("@keloa.coffee")).to_be_visible()
    bakery = page.locator("li.page-row", has_text="Corner Bakery")
    expect(bakery.get_by_role("alert")).to_contain_text("No Instagram account linked.")  # said before Connect
    expect(bakery.get_by_role("button", name="Connect Corner Bakery")).to_be_disabled()
    page.screenshot(path=str(tmp_path / "picker.png"), full_page=True)
    coffee.get_by_role("button", name="Connect Keloa Coffee").click()

    page.wait_for_url(re.compile(r"/integrations/$"))
    card = page.locator("article.channel", has_text="@keloa.coffee")
    expect(card.get_by_text("Active")).to_be_visible()
    expect(page.get_by_text("is connected")).to_be_visible()
    page.screenshot(path=str(tmp_path / "integrations.png"), full_page=True)

    card.get_by_label("Send read receipts").uncheck()
    expect(card.get_by_text("Saved")).to_be_visible()
    card.get_by_label("Display name in Keloa").fill("Coffee shop DMs")
    card.get_by_label("Display name in Keloa").press("Tab")
    name_form = card.locator("form.setting", has=page.get_by_label("Display name in Keloa"))
    expect(name_form.locator(".saved")).to_be_visible()
    expect(card.get_by_label("Display name in Keloa")).to_have_value("Coffee shop DMs")
    expect(card.get_by_role("heading", name="Coffee shop DMs")).to_be_visible()

    # A setting changed the instant the previous save lands still saves: the swapped-in controls
    # are live at once (htmx would otherwise wire them up 20 ms later and drop that change).
    page.evaluate("""() => new Promise(resolve => {
        document.body.addEventListener("htmx:afterSwap", () => setTimeout(() => {
            document.querySelector("article.channel input[type=checkbox][name=ai_enabled]").click();
            resolve();
        }, 0), {once: true});
        document.querySelector("article.channel input[type=checkbox][name=read_receipts]").click();
    })""")
    ai_form = card.locator("form.setting", has=page.get_by_label("AI replies"))
    expect(ai_form.locator(".saved")).to_be_visible()
    expect(card.get_by_text("AI replies are on but no agent is attached")).to_be_visible()

    card.get_by_role("button", name="Check connection").click()
    expect(card.locator(".checks")).to_contain_text("Access token valid")
    page.screenshot(path=str(tmp_path / "checks.png"), full_page=True)
    # Meta drops the subscription (as after an hour of failed deliveries): the result's own
    # button re-runs the checks in place and shows it, and "Subscribe again" mends it.
    sandbox.control("POST", "pages/coffee/subscription", json={"fields": []})
    card.get_by_role("button", name="Check again").click()
    expect(card.locator(".checks")).to_contain_text("Meta is not sending this Page's messages to Keloa")
    expect(card.locator(".checks-block")).to_have_count(1)
    channel_id = _channel_id(card)
    card.get_by_role("button", name="Subscribe again").click()

    # That lands on the diagnostics page, which runs the checks as it opens (a POST, not its GET).
    page.wait_for_url(re.compile(rf"/integrations/channels/{channel_id}/diagnostics$"))
    expect(page.get_by_text("is subscribed again")).to_be_visible()
    expect(page.locator(".checks")).to_contain_text("Meta sends this Page's messages to Keloa")
    expect(page.locator(".checks")).to_contain_text("Access token valid")
    assert "messages" in [p["subscribed_fields"] for p in sandbox.state()["pages"] if p["key"] == "coffee"][0]
    page.get_by_role("link", name="Back to Integrations").click()
    page.wait_for_url(re.compile(r"/integrations/$"))
    card = page.locator("article.channel", has_text="Coffee shop DMs")

    card.get_by_role("link", name="Disconnect").click()
    expect(page.get_by_text("Conversations stay in the inbox")).to_be_visible()
    page.get_by_role("button", name=re.compile("^Disconnect")).click()
    page.wait_for_url(re.compile(r"/integrations/$"))
    card = page.locator("article.channel").first
    expect(card.locator(".badge", has_text="Disconnected")).to_be_visible()
    expect(page.get_by_text("is disconnected")).to_be_visible()
    assert [p["subscribed_fields"] for p in sandbox.state()["pages"] if p["key"] == "coffee"] == [[]]


def _channel_id(card) -> int:
    return int(re.search(r"/channels/(\d+)/", card.get_by_role("link", name="Disconnect").get_attribute("href")).group(1))
