"""What agents answer: the built-in knowledge base and an OpenAI-compatible model over real HTTP."""
from __future__ import annotations

import pytest

from keloa_web import crypto
from keloa_web.agents.backends import answer, trim
from keloa_web.db import db
from keloa_web.models import Agent
from tests.chat_stub import ChatStub
from tests.factories import gen_agent, gen_entry


@pytest.fixture()
def chat():
    with ChatStub() as stub:
        yield stub


def _coffee_kb(**kw):
    agent = gen_agent(db.session, name="Coffee", **kw)
    gen_entry(db.session, agent, "Opening hours", "We open every day from 8am to 6pm.")
    gen_entry(db.session, agent, "Shipping", "We ship beans to Spain and Portugal within 3 days.")
    gen_entry(db.session, agent, "Returns", "You can return unopened bags within 30 days.")
    db.session.commit()
    return db.session.get(Agent, agent.id)


def test_knowledge_base_answers_a_matching_question(app):
    agent = _coffee_kb()
    result = answer(db.session, agent, "Hello! Do you ship to Portugal?")
    assert result.text == "We ship beans to Spain and Portugal within 3 days."
    assert [h.title for h in result.hits] == ["Shipping"]


def test_knowledge_base_does_not_guess(app):
    agent = _coffee_kb()
    result = answer(db.session, agent, "Can I pay with a gift card?")
    assert result.text is None and result.handoff


def test_threshold_decides(app):
    agent = _coffee_kb(min_score=1.0)
    assert answer(db.session, agent, "do you ship to portugal or france?").handoff
    agent.min_score = 0.2
    assert answer(db.session, agent, "do you ship to portugal or france?").text


def test_index_follows_edits(app):
    agent = _coffee_kb()
    assert answer(db.session, agent, "Do you sell gift cards?").handoff
    gen_entry(db.session, agent, "Gift cards", "Yes, gift cards are sold in the shop.")
    db.session.commit()
    db.session.rollback()  # a new unit of work, as each job and request is
    assert answer(db.session, agent, "Do you sell gift cards?").text == "Yes, gift cards are sold in the shop."


def test_trim_keeps_within_instagrams_1000_bytes():
    text = ("caf\u00e9 " * 400).strip()
    cut = trim(text)
    assert len(cut.encode()) <= 1000 and cut.endswith("\u2026") and "caf\u00e9" in cut
    assert trim("short") == "short"


def _model_agent(chat: ChatStub, **kw) -> Agent:
    agent = _coffee_kb(backend="openai", base_url=chat.base_url, model="test-model", temperature=0.1,
                       instructions="Always sign as Bea from Keloa Coffee.", timeout_seconds=1,
                       api_key_enc=crypto.encrypt("sk-local-123"), **kw)
    return agent


def test_openai_backend_request_shape(app, chat):
    agent = _model_agent(chat)
    history = [("user", "Hi there"), ("assistant", "Hello! How can I help?")]
    result = answer(db.session, agent, "Do you ship to Portugal?", history)
    assert result.text == "Hello from the model"
    req = chat.requests[-1]
    assert req["path"] == "/v1/chat/completions"
    assert req["model"] == "test-model" and req["temperature"] == 0.1
    messages = req["messages"]
    assert messages[0]["role"] == "system"
    assert "Always sign as Bea from Keloa Coffee." in messages[0]["content"]
    assert "We ship beans to Spain and Portugal within 3 days." in messages[0]["content"]
    assert messages[1:] == [{"role": "user", "content": "Hi there"},
                            {"role": "assistant", "content": "Hello! How can I help?"},
                            {"role": "user", "content": "Do you ship to Portugal?"}]
    assert {k.lower(): v for k, v in chat.headers[-1].items()}["authorization"] == "Bearer sk-local-123"


@pytest.mark.parametrize("mode, reason", [
    ("sleep", "did not answer within 1 s"),
    ("500", "answered HTTP 500"),
    ("empty", "returned an empty answer"),
])
def test_openai_backend_failures_become_reasons(app, chat, mode, reason):
    chat.mode = mode
    result = answer(db.session, _model_agent(chat), "Do you ship to Portugal?")
    assert result.text is None and reason in result.error


def test_openai_backend_handoff_word(app, chat):
    chat.mode = "handoff"
    result = answer(db.session, _model_agent(chat), "Can I pay by gift card?")
    assert result.text is None and result.handoff


def test_openai_backend_unreachable(app):
    agent = gen_agent(db.session, backend="openai", base_url="http://127.0.0.1:9/v1", model="m")
    db.session.commit()
    result = answer(db.session, db.session.get(Agent, agent.id), "hello")
    assert "could not be reached" in result.error


def test_try_it_with_a_model_shows_reply_and_failure(admin_client, chat):
    agent = _model_agent(chat)
    body = admin_client.post(f"/agents/{agent.id}/try", data={"message": "Ship to Portugal?"}, htmx=True).get_data(as_text=True)
    assert "Hello from the model" in body and "Shipping" in body
    chat.mode = "500"
    body = admin_client.post(f"/agents/{agent.id}/try", data={"message": "Ship to Portugal?"}, htmx=True).get_data(as_text=True)
    assert "AI could not answer" in body and "HTTP 500" in body
    assert "sk-local-123" not in body


def test_no_database_lock_is_held_while_the_model_answers_try_it(app, admin_client, chat):
    """"Try it" is a writer request: while the model thinks, webhook intake and the workers can
    still take SQLite's write lock."""
    import sqlite3

    path = app.config["DATABASE_URL"].split("///", 1)[1]
    free: list[bool] = []

    def probe():
        conn = sqlite3.connect(path, timeout=0, isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("ROLLBACK")
            free.append(True)
        except sqlite3.OperationalError:  # "database is locked"
            free.append(False)
        finally:
            conn.close()

    chat.on_request = probe
    agent = _model_agent(chat)
    body = admin_client.post(f"/agents/{agent.id}/try", data={"message": "Ship to Portugal?"}, htmx=True).get_data(as_text=True)
    assert "Hello from the model" in body
    assert free == [True]


def test_a_question_about_something_unwritten_is_not_answered_with_a_neighbour(app):
    agent = _coffee_kb()
    gen_entry(db.session, agent, "Decaf", "Yes, we sell a Swiss-water decaf from Colombia.")
    db.session.commit()
    assert answer(db.session, agent, "Do you sell decaf?").text == "Yes, we sell a Swiss-water decaf from Colombia."
    result = answer(db.session, agent, "Do you sell tea?")
    assert result.text is None and "below this agent's threshold" in result.handoff
