"""AI replies through the real pipeline: ai job and send job in a worker, checked at the Meta sandbox."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from keloa_web import jobs
from keloa_web.db import db
from keloa_web.models import Conversation, Message
from tests import factories, helpers

QUESTION = "Hi! Do you ship to Portugal?"


@pytest.fixture()
def ai_settings(settings):
    settings["AI_REPLY_DELAY_SECONDS"] = "0"
    return settings


def _sent(sandbox):
    return [r for r in sandbox.control("GET", "sent")["data"] if r["kind"] == "message"]


def _agent_channel(sandbox, account, answer, name):
    s = db.session
    agent = factories.gen_agent(s, name=name)
    factories.gen_entry(s, agent, "Shipping to Portugal", answer)
    channel = factories.sandbox_channel(s, sandbox, account=account, agent_id=agent.id, ai_enabled=True)
    conv = factories.sandbox_conversation(s, sandbox, channel, text=QUESTION)
    inbound = s.scalar(select(Message).where(Message.conversation_id == conv.id, Message.direction == "in"))
    s.commit()
    return conv, inbound


def test_two_channels_with_different_agents_answer_differently(ai_settings, sandbox, app):
    coffee, coffee_in = _agent_channel(sandbox, "keloa.coffee", "Beans reach Portugal in 3 days.", "Bea")
    books, books_in = _agent_channel(sandbox, "keloa.books", "Books ship to Portugal for 4 euros.", "Ben")
    for conv, inbound in ((coffee, coffee_in), (books, books_in)):
        jobs.emit("customer_message", message_id=inbound.id, conversation_id=conv.id)
    helpers.run_worker_burst(ai_settings)  # the ai jobs queue the sends; a burst works until every queue is empty
    sent = {(r["account_username"], r["text"], r["tag"]) for r in _sent(sandbox)}
    assert sent == {("keloa.coffee", "Beans reach Portugal in 3 days.", None),
                    ("keloa.books", "Books ship to Portugal for 4 euros.", None)}
    db.session.expire_all()
    replies = db.session.scalars(select(Message).where(Message.direction == "out")).all()
    assert {(m.author_type, m.status) for m in replies} == {("ai", "sent")}


def test_no_ai_reply_leaves_outside_the_window(ai_settings, sandbox, app):
    conv, inbound = _agent_channel(sandbox, "keloa.coffee", "Beans reach Portugal in 3 days.", "Bea")
    with db.session_scope() as s:  # Keloa's clock: the customer last wrote 30 hours ago
        s.get(Conversation, conv.id).last_customer_message_at -= timedelta(hours=30)
        s.get(Message, inbound.id).sent_at -= timedelta(hours=30)
    jobs.emit("customer_message", message_id=inbound.id, conversation_id=conv.id)
    helpers.run_worker_burst(ai_settings)
    assert _sent(sandbox) == []
    assert not [c for c in sandbox.control("GET", "calls")["data"]
                if c["method"] == "POST" and c["path"].endswith("/messages")]
    db.session.expire_all()
    note = db.session.scalar(select(Message).where(Message.direction == "note"))
    assert "Past the standard window: AI replies are off" in note.text
    assert db.session.get(Conversation, conv.id).needs_human


def test_the_ai_marks_the_message_seen_and_types_while_it_composes(ai_settings, sandbox, app):
    """Before the model answers, Instagram shows the customer "Seen" (read receipts on) and
    "typing…"; the typing stops when the model is done, and the reply follows."""
    conv, inbound = _agent_channel(sandbox, "keloa.coffee", "Beans reach Portugal in 3 days.", "Bea")
    jobs.emit("customer_message", message_id=inbound.id, conversation_id=conv.id)
    helpers.run_worker_burst(ai_settings)
    sent = sandbox.control("GET", "sent")["data"]
    actions = [r["sender_action"] or r["kind"] for r in sent]
    assert actions.index("typing_on") < actions.index("typing_off") < actions.index("message")
    assert "mark_seen" in actions
    assert _sent(sandbox)[0]["text"] == "Beans reach Portugal in 3 days."
