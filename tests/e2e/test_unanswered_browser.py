"""Close the loop in the live sandbox: a customer asks what the knowledge does not answer, the agent
hands off, an admin adds the entry from "Unanswered questions" in Chromium, and the next customer
who asks gets the AI's answer at the sandbox."""
from __future__ import annotations

import pytest
import requests
from playwright.sync_api import expect
from sqlalchemy import select

from keloa_web.crypto import decrypt
from keloa_web.db import db
from keloa_web.models import KnowledgeGap
from tests import factories, helpers
from tests.test_agents_e2e import _queued, _sent, _subscribe

pytestmark = pytest.mark.e2e
VOUCHERS = "Gift vouchers from £20, sent by email, valid for a year."


def test_unanswered_question_becomes_an_entry_and_is_answered_next_time(settings, sandbox, app, live_server,
                                                                       signed_in_page):
    settings["AI_REPLY_DELAY_SECONDS"] = "0"
    s = db.session
    agent = factories.gen_agent(s, name="Coffee helper")
    factories.gen_entry(s, agent, "Opening hours", "Every day from 9 to 5.")
    channel = factories.sandbox_channel(s, sandbox, account="keloa.coffee", agent_id=agent.id, ai_enabled=True)
    s.commit()
    _subscribe(sandbox, "keloa.coffee")
    requests.get(f"{sandbox.base}/v25.0/{channel.page_id}/conversations", timeout=10,
                 params={"platform": "instagram", "access_token": decrypt(channel.page_token_enc)}).raise_for_status()
    sandbox.control("POST", "config", json={"SANDBOX_WEBHOOK_URL": f"{live_server}/webhooks/instagram"})
    worker = helpers.start_worker(settings)
    try:
        sandbox.control("POST", "customer/send", json={"account": "keloa.coffee", "customer": "maya", "type": "text",
                                                      "text": "do you sell gift vouchers?"})
        helpers.wait_until(lambda: _gap(), timeout=60, message="the hand-off listed as unanswered")
        assert _sent(sandbox) == []  # the agent did not guess

        page = signed_in_page
        page.goto(f"{live_server}/agents/{agent.id}")
        expect(page.locator("#unanswered-link + .badge")).to_have_text("1")
        page.click("#unanswered-link")
        group = page.locator("#gaps-unanswered .gap").first
        expect(group).to_contain_text("“do you sell gift vouchers?”")
        group.get_by_text("Add to knowledge base").first.click()
        expect(group.get_by_label("Title or question")).to_have_value("do you sell gift vouchers?")
        expect(group.get_by_label("Example questions (one per line)")).to_have_value("do you sell gift vouchers?")
        group.get_by_label("Title or question").fill("Gift vouchers")
        group.get_by_role("button", name="Add to knowledge base").click()
        expect(page.locator("#gaps-unanswered")).to_contain_text("Write the answer or article text.")
        expect(page.locator("#gaps-unanswered .gap").first.get_by_label("Title or question")).to_have_value(
            "Gift vouchers")  # nothing typed is lost
        group = page.locator("#gaps-unanswered .gap").first
        group.get_by_label("Answer or article").fill(VOUCHERS)
        group.get_by_role("button", name="Add to knowledge base").click()
        expect(page.locator("#flash")).to_contain_text("Added “Gift vouchers” to the knowledge base; 1 question closed.")
        expect(page.locator("#gaps-unanswered")).to_contain_text("Nothing waiting.")

        sandbox.control("POST", "customer/send", json={"account": "keloa.coffee", "customer": "leo", "type": "text",
                                                      "text": "hi! can i buy a gift voucher?"})
        sent = helpers.wait_until(lambda: _sent(sandbox), timeout=60, message="the AI's answer at the sandbox")
        helpers.wait_until(lambda: not _queued(), timeout=30, message="the queues to drain")
    finally:
        helpers.stop_process(worker)
    assert [(r["customer"], r["text"]) for r in sent] == [("leo", VOUCHERS)]


def _gap():
    db.session.rollback()
    return db.session.scalar(select(KnowledgeGap))
