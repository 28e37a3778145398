"""The agent page in Chromium: Try it answers in place, live search, a rejected form shows its errors."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from keloa_web.db import db
from tests import factories

pytestmark = pytest.mark.e2e


def test_agent_page_in_the_browser(live_server, signed_in_page):
    agent = factories.gen_agent(db.session, name="Coffee helper")
    factories.gen_entry(db.session, agent, "Opening hours", "We open every day from 8am to 6pm.")
    factories.gen_entry(db.session, agent, "Shipping", "We ship beans to Spain and Portugal within 3 days.")
    db.session.commit()
    page = signed_in_page
    page.goto(f"{live_server}/agents/{agent.id}")

    page.fill("textarea[name=message]", "hi, when do you open?")
    page.click("#try-box button[type=submit]")
    expect(page.locator("#try-result")).to_contain_text("We open every day from 8am to 6pm.")

    page.fill("input[name=q]", "spain")
    expect(page.locator("#knowledge-list")).not_to_contain_text("Opening hours")
    expect(page.locator("#knowledge-list")).to_contain_text("Shipping")

    # The chat-model fields show only for that backend, the threshold only for the built-in one.
    expect(page.locator("fieldset.model-settings")).to_be_hidden()
    expect(page.get_by_label("Answer threshold (0–1)")).to_be_visible()
    page.select_option("select[name=backend]", "openai")
    expect(page.locator("fieldset.model-settings")).to_be_visible()
    expect(page.get_by_label("Answer threshold (0–1)")).to_be_hidden()
    page.click("#agent-settings button[type=submit]")
    expect(page.locator("#agent-settings")).to_contain_text("A chat model needs its server's base URL.")
    expect(page.locator("#flash")).to_contain_text("Nothing was saved")
