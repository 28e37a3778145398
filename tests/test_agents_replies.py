"""The ai job: when the AI answers, when it stays quiet, and what it leaves for a teammate."""
from __future__ import annotations

from datetime import timedelta

import pytest
from rq import Queue
from sqlalchemy import select

from keloa_web import jobs
from keloa_web.agents.jobs import reply_to_message
from keloa_web.db import db, utcnow
from keloa_web.models import Agent, Channel, Conversation, Message
from keloa_web.jobs import get_redis
from tests import factories, helpers
from tests.chat_stub import ChatStub

QUESTION = "Hi! Do you ship to Portugal?"
ANSWER = "We ship beans to Spain and Portugal within 3 days."


def _setup(last_customer_ago=timedelta(minutes=1), agent_kw=None, channel_kw=None, **conv_kw):
    s = db.session
    agent = factories.gen_agent(s, name="Bea", handoff_keywords="human, manager", **(agent_kw or {}))
    factories.gen_entry(s, agent, "Opening hours", "We open every day from 8am to 6pm.")
    factories.gen_entry(s, agent, "Shipping", ANSWER)
    channel = factories.gen_channel(s, **{"agent_id": agent.id, "ai_enabled": True, **(channel_kw or {})})
    conv = factories.gen_conversation(s, channel, last_customer_ago=last_customer_ago, **conv_kw)
    s.commit()
    return agent, conv


def _customer(conv, text=QUESTION, ago=timedelta(minutes=1)):
    msg = factories.gen_message(db.session, conv, "in", text=text, sent_at=utcnow() - ago)
    db.session.commit()
    return msg.id


def _rows(conv_id):
    db.session.rollback()
    db.session.expire_all()
    rows = db.session.scalars(select(Message).where(Message.conversation_id == conv_id,
                                                    Message.direction.in_(("out", "note")))
                              .order_by(Message.id)).all()
    return [(m.direction, m.author_type, m.text) for m in rows], db.session.get(Conversation, conv_id)


def test_knowledge_base_answers_a_matching_question(app):
    agent, conv = _setup()
    message_id = _customer(conv)
    reply_to_message(message_id)
    rows, conv = _rows(conv.id)
    assert rows == [("out", "ai", ANSWER)]
    reply = db.session.scalar(select(Message).where(Message.direction == "out"))
    assert (reply.author_agent_id, reply.answers_message_id, reply.status) == (agent.id, message_id, "queued")
    assert not conv.needs_human


def test_a_retry_never_answers_twice(app):
    _agent, conv = _setup()
    message_id = _customer(conv)
    reply_to_message(message_id)
    reply_to_message(message_id)
    assert _rows(conv.id)[0] == [("out", "ai", ANSWER)]


def test_no_match_hands_off_with_a_note(app):
    _agent, conv = _setup()
    reply_to_message(_customer(conv, "Can I pay with a gift card?"))
    rows, conv = _rows(conv.id)
    assert len(rows) == 1 and rows[0][:2] == ("note", "system")
    assert rows[0][2].startswith("AI handed this to a teammate:")
    assert conv.needs_human


def test_outside_the_window_never_replies(app):
    _agent, conv = _setup(last_customer_ago=timedelta(hours=30))
    reply_to_message(_customer(conv, ago=timedelta(hours=30)))
    rows, conv = _rows(conv.id)
    assert [r[:2] for r in rows] == [("note", "system")]
    assert "AI did not reply: Past the standard window: AI replies are off" in rows[0][2]
    assert conv.needs_human


def test_quiet_after_a_teammate_replied_recently(app):
    _agent, conv = _setup(agent_kw={"quiet_minutes": 30})
    factories.gen_message(db.session, conv, "out", text="Let me check", sent_at=utcnow() - timedelta(minutes=10))
    db.session.commit()
    reply_to_message(_customer(conv))
    assert _rows(conv.id)[0] == [("out", "user", "Let me check")]


def test_answers_again_once_the_quiet_period_is_over(app):
    _agent, conv = _setup(agent_kw={"quiet_minutes": 30})
    factories.gen_message(db.session, conv, "out", text="Let me check", sent_at=utcnow() - timedelta(minutes=40))
    db.session.commit()
    reply_to_message(_customer(conv))
    assert _rows(conv.id)[0][-1] == ("out", "ai", ANSWER)


def test_quiet_when_assigned(app, admin):
    _agent, conv = _setup(assignee_id=admin.id)
    reply_to_message(_customer(conv))
    assert _rows(conv.id)[0] == []


def test_quiet_when_paused_for_the_conversation(app):
    _agent, conv = _setup(ai_paused=True)
    reply_to_message(_customer(conv))
    rows, conv = _rows(conv.id)
    assert rows == [] and not conv.needs_human


def test_customer_asking_for_a_human_gets_a_person(app):
    _agent, conv = _setup()
    reply_to_message(_customer(conv, "Can I talk to a HUMAN please?"))
    rows, conv = _rows(conv.id)
    assert [r[:2] for r in rows] == [("note", "system")] and "asked for a person" in rows[0][2]
    assert conv.needs_human and conv.ai_paused


def test_hourly_limit(app):
    app.config["AI_MAX_REPLIES_PER_HOUR"] = 2
    _agent, conv = _setup()
    for minutes in (50, 20):
        factories.gen_message(db.session, conv, "out", text="earlier", author_type="ai",
                              sent_at=utcnow() - timedelta(minutes=minutes))
    db.session.commit()
    reply_to_message(_customer(conv))
    rows, conv = _rows(conv.id)
    assert rows[-1][0] == "note" and "last hour (the limit is 2)" in rows[-1][2] and conv.needs_human


def test_a_burst_is_answered_once_by_its_newest_message(app):
    _agent, conv = _setup()
    first = _customer(conv, "Hello", ago=timedelta(seconds=20))
    second = _customer(conv, "do you ship to Portugal?", ago=timedelta(seconds=10))
    reply_to_message(first)
    assert _rows(conv.id)[0] == []
    reply_to_message(second)
    assert _rows(conv.id)[0] == [("out", "ai", ANSWER)]


def test_photos_alone_wait_for_a_teammate(app):
    _agent, conv = _setup()
    message_id = _customer(conv, None)
    reply_to_message(message_id)
    assert _rows(conv.id)[0] == []


@pytest.mark.parametrize("mode, reason", [("sleep", "did not answer within 1 s"), ("500", "answered HTTP 500"),
                                          ("empty", "returned an empty answer")])
def test_model_failures_leave_a_note_and_no_reply(app, mode, reason):
    with ChatStub() as chat:
        chat.mode = mode
        _agent, conv = _setup(agent_kw={"backend": "openai", "base_url": chat.base_url, "model": "m",
                                        "timeout_seconds": 1})
        reply_to_message(_customer(conv))
    rows, conv = _rows(conv.id)
    assert [r[:2] for r in rows] == [("note", "system")]
    assert rows[0][2].startswith("AI could not answer:") and reason in rows[0][2]
    assert conv.needs_human


def test_model_reply_carries_history(app):
    with ChatStub() as chat:
        chat.reply = "Yes! 3 days to Lisbon."
        _agent, conv = _setup(agent_kw={"backend": "openai", "base_url": chat.base_url, "model": "m"})
        factories.gen_message(db.session, conv, "in", text="Hello", sent_at=utcnow() - timedelta(hours=2))
        factories.gen_message(db.session, conv, "out", text="Hi! How can I help?", author_type="ai",
                              sent_at=utcnow() - timedelta(hours=2) + timedelta(seconds=5))
        db.session.commit()
        reply_to_message(_customer(conv))
    assert _rows(conv.id)[0][-1] == ("out", "ai", "Yes! 3 days to Lisbon.")
    messages = chat.requests[-1]["messages"]
    assert messages[1:] == [{"role": "user", "content": "Hello"},
                            {"role": "assistant", "content": "Hi! How can I help?"},
                            {"role": "user", "content": QUESTION}]
    assert ANSWER in messages[0]["content"]


def _ai_jobs():
    return Queue("ai", connection=get_redis()).job_ids


def test_listener_queues_only_for_channels_with_ai_on(app):
    app.config["AI_REPLY_DELAY_SECONDS"] = 0
    _agent, conv = _setup()
    _agent2, off = _setup(channel_kw={"ai_enabled": False})
    no_agent = factories.gen_conversation(db.session, factories.gen_channel(db.session))
    broken = factories.gen_conversation(db.session, factories.gen_channel(
        db.session, agent_id=_agent.id, ai_enabled=True, status="needs_reconnect"))
    db.session.commit()
    for c in (off, no_agent, broken):
        jobs.emit("customer_message", message_id=_customer(c), conversation_id=c.id)
    assert _ai_jobs() == []
    message_id = _customer(conv)
    jobs.emit("customer_message", message_id=message_id, conversation_id=conv.id)
    jobs.emit("customer_message", message_id=message_id, conversation_id=conv.id)
    assert _ai_jobs() == [f"ai-{message_id}"]


@pytest.fixture(params=["sqlite", "postgresql"])
def any_database(request, settings):
    """This test's Keloa on SQLite, then on PostgreSQL (when KELOA_TEST_POSTGRES_URL is set)."""
    if request.param == "postgresql":
        url = request.getfixturevalue("postgres_url")
        helpers.migrate(url)
        settings["DATABASE_URL"] = url
    return request.param


def test_answers_once_and_hands_off_on_every_database(any_database, app):
    _agent, conv = _setup()
    asked = _customer(conv, ago=timedelta(minutes=2))
    reply_to_message(asked)
    reply_to_message(asked)
    unknown = _customer(conv, "Can I pay with a gift card?")
    reply_to_message(unknown)
    reply_to_message(unknown)
    rows, conv = _rows(conv.id)
    assert [r[:2] for r in rows] == [("out", "ai"), ("note", "system")] and conv.needs_human


def test_a_turn_lost_between_ingest_and_queueing_is_queued_again(app, settings):
    from keloa_web.agents.jobs import requeue_lost_turns

    app.config["AI_REPLY_DELAY_SECONDS"] = 0
    settings["AI_REPLY_DELAY_SECONDS"] = "0"
    _agent, conv = _setup()
    _agent2, off = _setup(channel_kw={"ai_enabled": False})
    other_agent, other = _setup()
    answered = _customer(other)
    jobs.emit("customer_message", message_id=answered, conversation_id=other.id)
    helpers.run_worker_burst(settings)  # its turn runs: the AI answers, the job record stays an hour
    lost = _customer(conv)  # stored by ingest, but the worker died before its hook queued the turn
    quiet = _customer(off, "hello?")
    with db.session_scope() as s:  # stored two minutes ago: the hook would have run long since
        for message_id in (lost, answered, quiet):
            s.get(Message, message_id).created_at = utcnow() - timedelta(minutes=2)
    too_recent = _customer(other, "one more thing")
    requeue_lost_turns()
    requeue_lost_turns()
    # Not the turn that ran, not a channel with AI off, not a message its hook may still be handling.
    assert _ai_jobs() == [f"ai-{lost}"] and too_recent
    helpers.run_worker_burst(settings)
    assert _rows(conv.id)[0] == [("out", "ai", ANSWER)]
    assert _rows(other.id)[0] == [("out", "ai", ANSWER)]  # answered once, not again


def test_an_agent_made_in_the_app_says_it_is_automated_in_its_first_reply_only(app, admin_client):
    """On by default: the first AI reply of a conversation starts with the disclosure (Meta asks
    automated chat experiences to say so where the law requires it); later replies do not repeat it."""
    resp = admin_client.post("/agents/", data={"name": "Bea"})
    assert resp.status_code in (200, 302)
    agent = db.session.scalar(select(Agent).where(Agent.name == "Bea"))
    assert agent.disclose is True
    page = admin_client.get(f"/agents/{agent.id}").get_data(as_text=True)
    assert "Say it is automated in its first reply to each customer" in page and 'checked' in page
    factories.gen_entry(db.session, agent, "Shipping", ANSWER)
    channel = factories.gen_channel(db.session, agent_id=agent.id, ai_enabled=True, display_name="Keloa Coffee")
    conv = factories.gen_conversation(db.session, channel)
    db.session.commit()
    reply_to_message(_customer(conv))
    reply_to_message(_customer(conv, ago=timedelta(seconds=1)))
    rows, _ = _rows(conv.id)
    texts = [r[2] for r in rows if r[0] == "out"]
    assert texts == [
        "Hi! I'm Bea, the automated assistant of Keloa Coffee. A person from the team can take over anytime."
        f"\n\n{ANSWER}", ANSWER]


def test_a_disclosure_of_its_own_words_and_one_too_long_to_share_the_message(app):
    from keloa_web.agents.jobs import _with_disclosure

    agent, conv = _setup(agent_kw={"disclose": True, "disclosure_text": "{agent} here, a bot for {account}."})
    channel = db.session.get(Channel, conv.channel_id)
    reply_to_message(_customer(conv))
    rows, _ = _rows(conv.id)
    assert [r[2] for r in rows if r[0] == "out"] == [f"Bea here, a bot for {channel.label}.\n\n{ANSWER}"]
    # a long answer: the disclosure goes first, as a message of its own (each stays under 1000 bytes)
    fresh = factories.gen_conversation(db.session, channel)
    long_answer = "é" * 490
    assert _with_disclosure(db.session, fresh, agent, long_answer) == [f"Bea here, a bot for {channel.label}.",
                                                                      long_answer]


def test_the_newest_question_is_answered_on_its_own_in_a_conversation(app):
    """A customer's earlier unanswered messages were joined into the question and diluted its
    match: "What are your opening hours on the weekend?" after two other messages got a hand-off."""
    agent, conv = _setup()
    _customer(conv, "Hi!", ago=timedelta(minutes=3))
    _customer(conv, "I was at your shop last week with my sister and we loved the cakes", ago=timedelta(minutes=2))
    newest = _customer(conv, "What are your opening hours on the weekend?")
    reply_to_message(newest)
    rows, _ = _rows(conv.id)
    assert [r[2] for r in rows if r[0] == "out"] == ["We open every day from 8am to 6pm."]


def test_a_newest_message_too_short_to_stand_alone_is_read_with_the_one_before(app):
    agent, conv = _setup()
    _customer(conv, "Do you ship beans to Portugal", ago=timedelta(minutes=2))
    newest = _customer(conv, "and Spain?")
    reply_to_message(newest)
    rows, _ = _rows(conv.id)
    assert [r[2] for r in rows if r[0] == "out"] == [ANSWER]


def test_the_older_messages_of_a_burst_are_not_lost_turns(app, settings):
    """Ingest asks for one turn per conversation and batch, for its newest message: the older ones
    of a burst never had a job, and the repair of lost turns must not queue one for each."""
    from keloa_web.agents.jobs import requeue_lost_turns

    app.config["AI_REPLY_DELAY_SECONDS"] = 0
    _agent, conv = _setup()
    first, second = _customer(conv, "hi"), _customer(conv, "do you sell gift cards?")
    with db.session_scope() as s:  # stored two minutes ago, and the worker died before the hook ran
        for message_id in (first, second):
            s.get(Message, message_id).created_at = utcnow() - timedelta(minutes=2)
    requeue_lost_turns()
    assert _ai_jobs() == [f"ai-{second}"]
