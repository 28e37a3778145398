"""Ice breakers: set per channel at Meta (messenger_profile, platform=instagram), shown when a
customer taps one, and answered by the AI agent as the customer's question."""
from __future__ import annotations

from sqlalchemy import select

from keloa_web.db import db
from keloa_web.models import Channel, Message
from tests import factories, helpers


def _page(sandbox, key="coffee"):
    return next(p for p in sandbox.state()["pages"] if p["key"] == key)


def test_an_admin_sets_ice_breakers_and_a_customer_taps_one(sandbox, app, admin_client, live_server, settings):
    with db.session_scope() as s:
        agent = factories.gen_agent(s, name="Bea")
        factories.gen_entry(s, agent, "Opening hours", "We open every day from 8am to 6pm.")
        channel = factories.sandbox_channel(s, sandbox, agent_id=agent.id, ai_enabled=True)
    page = admin_client.get(f"/integrations/channels/{channel.id}/ice-breakers").get_data(as_text=True)
    assert "Up to 4 questions Instagram offers" in page and page.count('name="q') == 4

    too_long = admin_client.post(f"/integrations/channels/{channel.id}/ice-breakers",
                                 data={"q0": "What are your opening hours?", "q1": "x" * 81}, htmx=True)
    body = too_long.get_data(as_text=True)
    assert too_long.status_code == 422 and "Question 2 is 81 characters" in body and "What are your opening hours?" in body
    assert body.count('aria-invalid="true"') == 1
    assert not _page(sandbox).get("ice_breakers")

    saved = admin_client.post(f"/integrations/channels/{channel.id}/ice-breakers",
                              data={"q0": "What are your opening hours?", "q1": "", "q2": "Do you ship abroad?"},
                              htmx=True)
    assert saved.status_code == 200 and "Saved 2 ice breakers for @keloa.coffee" in saved.get_data(as_text=True)
    at_meta = _page(sandbox)["ice_breakers"]
    assert at_meta == [{"locale": "default", "call_to_actions": [
        {"question": "What are your opening hours?", "payload": "KELOA_ICE_BREAKER_1"},
        {"question": "Do you ship abroad?", "payload": "KELOA_ICE_BREAKER_2"}]}]
    assert "Ice breakers (2)" in admin_client.get("/integrations/").get_data(as_text=True)

    # The customer taps the first one: a postback with the question as its title.
    sandbox.control("POST", "config", json={"SANDBOX_WEBHOOK_URL": f"{live_server}/webhooks/instagram"})
    sandbox.control("POST", "pages/coffee/subscription", json={"fields": ["messages", "messaging_postbacks"]})
    settings["AI_REPLY_DELAY_SECONDS"] = "0"
    worker = helpers.start_worker(settings)
    try:
        # as the sandbox's customer page taps one: Instagram shows the Page's questions, the first is tapped
        sandbox.control("POST", "customer/send", json={"account": "keloa.coffee", "customer": "maya", "type": "postback"})
        tapped = helpers.wait_until(lambda: db.session.rollback() or db.session.scalar(
            select(Message).where(Message.kind == "postback")), timeout=20, message="the postback")
        html = admin_client.get(f"/inbox/c/{tapped.conversation_id}").get_data(as_text=True)
        assert "Chose an ice breaker: “What are your opening hours?”" in html
        helpers.wait_until(lambda: [r for r in sandbox.control("GET", "sent")["data"] if r["kind"] == "message"],
                           timeout=20, message="the AI's answer")
        answer = [r for r in sandbox.control("GET", "sent")["data"] if r["kind"] == "message"][0]
        assert answer["text"] == "We open every day from 8am to 6pm."
    finally:
        helpers.stop_process(worker)

    # Emptying every box removes them at Meta.
    admin_client.post(f"/integrations/channels/{channel.id}/ice-breakers", data={}, htmx=True)
    assert not _page(sandbox).get("ice_breakers")
    assert db.session.get(Channel, channel.id).ice_breakers is None
