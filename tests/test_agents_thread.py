"""What a teammate sees and does in the thread: AI replies and notes marked, the pause switch."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from keloa_web.agents.jobs import reply_to_message
from keloa_web.db import db, utcnow
from keloa_web.models import Conversation, Message
from tests import factories


def _conversation():
    s = db.session
    agent = factories.gen_agent(s, name="Bea")
    factories.gen_entry(s, agent, "Shipping", "We ship to Portugal within 3 days.")
    channel = factories.gen_channel(s, agent_id=agent.id, ai_enabled=True)
    conv = factories.gen_conversation(s, channel)
    s.commit()
    return conv


def _ask(conv, text, ago=timedelta(seconds=30)):
    msg = factories.gen_message(db.session, conv, "in", text=text, sent_at=utcnow() - ago)
    db.session.commit()
    reply_to_message(msg.id)
    db.session.rollback()
    db.session.expire_all()


def _ai_replies(conv_id):
    return db.session.scalars(select(Message.text).where(Message.conversation_id == conv_id,
                                                         Message.author_type == "ai")).all()


def test_thread_marks_ai_replies_and_notes_with_the_agents_name(agent_client):
    conv = _conversation()
    _ask(conv, "Do you ship to Portugal?", ago=timedelta(minutes=2))
    _ask(conv, "And can I pay with a gift card?")
    page = agent_client.get(f"/inbox/c/{conv.id}").get_data(as_text=True)
    assert "We ship to Portugal within 3 days." in page and "Bea (AI)" in page
    # the hand-off is an activity line of the thread, named for the agent (keloa_web/inbox/activity.py)
    assert '<span class="activity-text">Bea (AI): AI handed this to a teammate' in page


def test_pause_switch_in_the_thread_stops_and_resumes_the_ai(agent_client):
    conv = _conversation()
    resp = agent_client.post(f"/inbox/c/{conv.id}/ai", data={"paused": "1"}, htmx=True)
    assert resp.status_code == 200 and "Resume AI" in resp.get_data(as_text=True)
    db.session.refresh(conv)
    assert conv.ai_paused
    _ask(conv, "Do you ship to Portugal?", ago=timedelta(minutes=2))
    assert _ai_replies(conv.id) == []
    agent_client.post(f"/inbox/c/{conv.id}/ai", data={"paused": "0"}, htmx=True)
    _ask(conv, "Do you ship to Portugal?")
    assert _ai_replies(conv.id) == ["We ship to Portugal within 3 days."]


def test_the_composer_says_when_the_ai_stays_quiet_and_until_when(agent_client, agent_user):
    """The composer tells the truth about the AI: "may reply" only while it would; after a
    teammate's reply it says it is quiet, and until when (the agent's quiet minutes)."""
    conv = _conversation()
    factories.gen_message(db.session, conv, "in", text="Do you ship to Portugal?", sent_at=utcnow() - timedelta(minutes=5))
    db.session.commit()
    assert "AI may reply" in agent_client.get(f"/inbox/c/{conv.id}").get_data(as_text=True)

    replied = utcnow() - timedelta(minutes=10)
    factories.gen_message(db.session, conv, "out", text="Yes, in 3 days.", author_type="user", sent_at=replied)
    db.session.commit()
    page = agent_client.get(f"/inbox/c/{conv.id}").get_data(as_text=True)
    until = (replied + timedelta(minutes=30)).strftime("%H:%M")
    assert "AI may reply" not in page and "AI quiet: a teammate replied until" in page and f">{until}</time>" in page

    db.session.get(Conversation, conv.id).assignee_id = agent_user.id
    db.session.commit()
    window = agent_client.get(f"/inbox/c/{conv.id}/window", htmx=True).get_data(as_text=True)
    assert "AI quiet: the conversation is assigned to a teammate" in window
