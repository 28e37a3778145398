"""Conversation Routing: while another app owns a thread, Meta sends its events in standby[].
Keloa shows them, never answers them (neither the AI nor a teammate), says why, and takes the
thread back when Meta passes it back."""
from __future__ import annotations

import html

from sqlalchemy import select

from keloa_web.db import db
from keloa_web.models import Conversation, Message
from keloa_web.sends import outbox
from tests import factories, helpers


def _conv() -> Conversation:
    db.session.rollback()
    return db.session.scalar(select(Conversation))


def test_a_thread_another_app_owns_is_shown_and_not_answered(sandbox, app, live_server, settings, agent_client):
    with db.session_scope() as s:
        agent = factories.gen_agent(s, name="Bea")
        factories.gen_entry(s, agent, "Opening hours", "We open every day from 8am to 6pm.")
        channel = factories.sandbox_channel(s, sandbox, agent_id=agent.id, ai_enabled=True)
    sandbox.control("POST", "config", json={"SANDBOX_WEBHOOK_URL": f"{live_server}/webhooks/instagram"})
    sandbox.control("POST", "pages/coffee/subscription", json={"fields": ["messages"]})
    settings["AI_REPLY_DELAY_SECONDS"] = "0"
    worker = helpers.start_worker(settings)
    try:
        def say(text):
            return sandbox.control("POST", "customer/send", json={"account": channel.ig_account_id, "customer": "maya",
                                                                 "type": "text", "text": text})

        first = say("Hello!")
        helpers.wait_until(lambda: db.session.rollback() or db.session.scalar(
            select(Message).where(Message.mid == first["mid"])), timeout=20, message="the first message")
        handed = sandbox.control("POST", "threads/owner", json={"account": "keloa.coffee", "customer": "maya",
                                                               "owner": "other"})
        assert "take_thread_control" in handed["event"]
        helpers.wait_until(lambda: _conv().standby_since is not None, timeout=20, message="the handover")
        second = say("What are your opening hours?")
        helpers.wait_until(lambda: db.session.rollback() or db.session.scalar(
            select(Message).where(Message.mid == second["mid"])), timeout=20, message="the standby message")
        conv = _conv()
        page = html.unescape(agent_client.get(f"/inbox/c/{conv.id}").get_data(as_text=True))
        assert "What are your opening hours?" in page
        assert "<strong>Replies are off.</strong> Another app answers this conversation in Instagram" in page
        resp = agent_client.post(f"/inbox/c/{conv.id}/messages", data={"text": "We open at 8"}, htmx=True)
        assert resp.status_code == 422 and "Another app answers this conversation" in html.unescape(
            resp.get_data(as_text=True))

        # Passed back: the next message arrives on the normal channel and Keloa may answer again.
        sandbox.control("POST", "threads/owner", json={"account": "keloa.coffee", "customer": "maya", "owner": "keloa"})
        helpers.wait_until(lambda: _conv().standby_since is None, timeout=20, message="the thread passed back")
        with db.session_scope() as s:
            outbox.create_outgoing(s, s.get(Conversation, conv.id), text="Thanks for waiting!", user_id=None)
        helpers.wait_until(lambda: [r for r in sandbox.control("GET", "sent")["data"]
                                    if r["kind"] == "message" and r["text"] == "Thanks for waiting!"],
                           timeout=20, message="the reply")
        sent = [r for r in sandbox.control("GET", "sent")["data"] if r["kind"] == "message"]
        # The AI answered neither the first message in time nor the standby one: only the teammate's went out,
        # apart from an AI answer to "Hello!" if its knowledge matched (it does not).
        assert [r["text"] for r in sent] == ["Thanks for waiting!"]
    finally:
        helpers.stop_process(worker)


def test_a_send_meta_refuses_because_another_app_owns_the_thread_says_so(sandbox, app, settings):
    with db.session_scope() as s:
        channel = factories.sandbox_channel(s, sandbox)
        conv_id = factories.sandbox_conversation(s, sandbox, channel).id
    sandbox.control("POST", "threads/owner", json={"account": "keloa.coffee", "customer": "maya", "owner": "other"})
    with db.session_scope() as s:
        message_id = outbox.create_outgoing(s, s.get(Conversation, conv_id), text="Hi?").id
    helpers.run_worker_burst(settings)
    db.session.rollback()
    message = db.session.get(Message, message_id)
    assert message.status == "failed" and message.error.startswith("Not sent: Another app answers this conversation")
    assert db.session.get(Conversation, conv_id).standby_since is not None
