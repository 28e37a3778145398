"""The agent page in Chromium: Try it answers in place, live search, a rejected form shows its errors."""
from __future__ import annotations

from playwright.sync_api import expect, sync_playwright

from keloa_web.db import db
from tests import factories

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def test_agent_page_in_the_browser(live_server, admin):
    agent = factories.gen_agent(db.session, name="Coffee helper")
    factories.gen_entry(db.session, agent, "Opening hours", "We open every day from 8am to 6pm.")
    factories.gen_entry(db.session, agent, "Shipping", "We ship beans to Spain and Portugal within 3 days.")
    db.session.commit()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.goto(f"{live_server}/login")
        page.fill("input[name=email]", "owner@example.com")
        page.fill("input[name=password]", "correct horse battery")
        with page.expect_response(lambda r: r.url.endswith("/login") and r.request.method == "POST"):
            page.click("button[type=submit]")
        page.goto(f"{live_server}/agents/{agent.id}")

        page.fill("textarea[name=message]", "hi, when do you open?")
        page.click("#try-box button[type=submit]")
        expect(page.locator("#try-result")).to_contain_text("We open every day from 8am to 6pm.")

        page.fill("input[name=q]", "spain")
        expect(page.locator("#knowledge-list")).not_to_contain_text("Opening hours")
        expect(page.locator("#knowledge-list")).to_contain_text("Shipping")

        page.select_option("select[name=backend]", "openai")
        page.click("#agent-settings button[type=submit]")
        expect(page.locator("#agent-settings")).to_contain_text("A chat model needs its server's base URL.")
        expect(page.locator("#flash")).to_contain_text("Nothing was saved")
        browser.close()
