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


def test_an_entry_with_an_example_question_answers_in_try_it_at_both_widths(live_server, signed_in_page):
    agent = factories.gen_agent(db.session, name="Fern helper")
    factories.gen_entry(db.session, agent, "Returns", "Send it back unworn within 30 days for a refund.")
    db.session.commit()
    page = signed_in_page
    page.goto(f"{live_server}/agents/{agent.id}")
    page.get_by_text("Add an entry").click()
    page.get_by_label("Title or question").first.fill("Shipping costs")
    page.get_by_label("Answer or article").first.fill("UK £3.95, free over £50. Europe £7.50. USA £12.")
    page.get_by_label("Example questions (optional)").fill("how much is postage\ndelivery charge to the us?")
    page.get_by_role("button", name="Add entry").click()
    expect(page.locator("#flash")).to_contain_text("Added “Shipping costs”.")
    expect(page.locator("#knowledge-list")).to_contain_text("2 example questions")

    page.fill("textarea[name=message]", "hiii what do you charge for postage?")
    page.click("#try-box button[type=submit]")
    expect(page.locator("#try-result")).to_contain_text("The agent would reply")
    expect(page.locator("#try-result .reply")).to_have_text("UK £3.95, free over £50. Europe £7.50. USA £12.")
    used = page.locator("#try-candidates tr.used")
    expect(used).to_contain_text("Shipping costs")
    expect(page.locator("#try-why")).to_contain_text("scores")
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        expect(page.locator("#try-candidates")).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        box = page.locator("#try-candidates").bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= width + 1
