"""End to end: the sandbox customer writes, Meta's signed webhook reaches Keloa, a real worker
ingests it, the ai job answers with the channel's agent, the send job delivers it to the sandbox."""
from __future__ import annotations

import requests
from sqlalchemy import select

from keloa_web.crypto import decrypt
from keloa_web.db import db
from keloa_web.models import Conversation, Message
from tests import factories, helpers

QUESTION = "Hello! Do you ship to Portugal?"


def _subscribe(sandbox, account: str) -> None:
    state = sandbox.state()
    page_id = next(a["page_id"] for a in state["accounts"] if a["username"] == account)
    page_key = next(p["key"] for p in state["pages"] if p["id"] == page_id)
    sandbox.control("POST", f"pages/{page_key}/subscription", json={"fields": ["messages"]})


def _agent_channel(sandbox, account: str, answer: str) -> None:
    s = db.session
    agent = factories.gen_agent(s, name=f"Agent for {account}")
    factories.gen_entry(s, agent, "Shipping to Portugal", answer)
    factories.gen_entry(s, agent, "Opening hours", "Every day from 9 to 5.")
    channel = factories.sandbox_channel(s, sandbox, account=account, agent_id=agent.id, ai_enabled=True)
    s.commit()
    _subscribe(sandbox, account)
    # Meta delivers a creator account's messages only once the app has used its Conversations API.
    requests.get(f"{sandbox.base}/v25.0/{channel.page_id}/conversations", timeout=10,
                 params={"platform": "instagram", "access_token": decrypt(channel.page_token_enc)}).raise_for_status()


def _sent(sandbox):
    return [r for r in sandbox.control("GET", "sent")["data"] if r["kind"] == "message"]


def test_e2e_two_channels_answer_the_same_question_with_their_own_agent(settings, sandbox, app, live_server):
    settings["AI_REPLY_DELAY_SECONDS"] = "0"
    worker = helpers.start_worker(settings)
    try:
        sandbox.control("POST", "config", json={"SANDBOX_WEBHOOK_URL": f"{live_server}/webhooks/instagram"})
        sandbox.control("POST", "faults", json={"duplicates": True})  # Meta may deliver twice: answer once
        _agent_channel(sandbox, "keloa.coffee", "Coffee beans reach Portugal in 3 days.")
        _agent_channel(sandbox, "keloa.books", "Books ship to Portugal for 4 euros.")
        for account in ("keloa.coffee", "keloa.books"):
            sandbox.control("POST", "customer/send", json={"account": account, "customer": "maya", "type": "text",
                                                          "text": QUESTION})
        sent = helpers.wait_until(lambda: len(_sent(sandbox)) >= 2 and _sent(sandbox), timeout=60,
                                  message="two AI replies at the sandbox")
        # The customer asks for a person: no reply, a note and a flag for the team.
        sandbox.control("POST", "customer/send", json={"account": "keloa.coffee", "customer": "maya", "type": "text",
                                                      "text": "Thanks! Can I talk to a human about a big order?"})
        note = helpers.wait_until(lambda: _note(), timeout=30, message="a hand-off note")
        helpers.wait_until(lambda: not _queued(), timeout=30, message="the queues to drain")
    finally:
        helpers.stop_process(worker)
    assert {(r["account_username"], r["customer"], r["text"]) for r in sent} == {
        ("keloa.coffee", "maya", "Coffee beans reach Portugal in 3 days."),
        ("keloa.books", "maya", "Books ship to Portugal for 4 euros."),
    }
    assert len(_sent(sandbox)) == 2
    assert "asked for a person" in note.text
    db.session.rollback()
    replies = db.session.scalars(select(Message).where(Message.direction == "out")).all()
    assert len(replies) == 2 and all(m.author_type == "ai" and m.author_agent_id for m in replies)
    assert db.session.get(Conversation, note.conversation_id).needs_human


def _note():
    db.session.rollback()
    return db.session.scalar(select(Message).where(Message.direction == "note"))


def _queued() -> int:
    from keloa_web.jobs import get_queue

    return sum(get_queue(name).count for name in ("webhooks", "sends", "ai"))
