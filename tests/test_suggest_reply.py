""""Suggest a reply": the channel's agent drafts an answer for a teammate to edit and send; it never
sends, and it works outside the AI's 24-hour window since a person sends what it drafts."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from keloa_web.db import db, utcnow
from keloa_web.models import Message
from tests import factories
from tests.test_agents_semantic import COST, _shop


def _conv(agent=None, last_customer_ago=timedelta(minutes=2), text="how much is postage to the uk?"):
    channel = factories.gen_channel(db.session, agent_id=agent.id if agent else None, ai_enabled=True)
    conv = factories.gen_conversation(db.session, channel, last_customer_ago=last_customer_ago)
    if text:
        factories.gen_message(db.session, conv, "in", text=text, sent_at=utcnow() - last_customer_ago)
    db.session.commit()
    return conv


def test_the_agent_drafts_and_nothing_is_sent(agent_client, app):
    conv = _conv(_shop())
    resp = agent_client.post(f"/inbox/c/{conv.id}/suggest")
    assert resp.get_json() == {"text": COST, "problem": None}
    assert resp.headers["Cache-Control"] == "no-store"
    assert db.session.scalar(select(Message).where(Message.direction.in_(("out", "note")))) is None


def test_outside_the_ai_window_a_person_still_gets_a_draft(agent_client, app):
    conv = _conv(_shop(), last_customer_ago=timedelta(hours=30))
    assert agent_client.post(f"/inbox/c/{conv.id}/suggest").get_json()["text"] == COST


def test_why_there_is_no_draft(agent_client, app):
    no_agent = _conv(None)
    assert "No AI agent is attached to" in agent_client.post(f"/inbox/c/{no_agent.id}/suggest").get_json()["problem"]
    unknown = _conv(_shop(), text="do you sell tea?")
    problem = agent_client.post(f"/inbox/c/{unknown.id}/suggest").get_json()["problem"]
    assert problem.startswith("Fern has no answer to suggest: No knowledge entry matches this message.")
    silent = _conv(_shop(), text=None)
    assert agent_client.post(f"/inbox/c/{silent.id}/suggest").get_json()["problem"] == (
        "The customer has not written yet: there is nothing to answer.")


def test_needs_a_user_and_a_csrf_token(client, agent_client, app):
    conv = _conv(_shop())
    assert client.post(f"/inbox/c/{conv.id}/suggest").status_code in (302, 400, 401)
    assert agent_client.post(f"/inbox/c/{conv.id}/suggest", csrf=False).status_code == 400
    assert agent_client.post("/inbox/c/999999/suggest").status_code == 404
