"""Retrieval that reads meaning: embeddings beside BM25, example questions, several questions in
one message, follow-ups, and the agent that says it matches words only without the model."""
from __future__ import annotations

from sqlalchemy import select

from keloa_web.agents import embeddings, retrieval
from keloa_web.agents.backends import answer
from keloa_web.agents.jobs import reply_to_message
from keloa_web.db import db
from keloa_web.models import Agent, KnowledgeEntry, KnowledgeGap
from tests import factories
from tests.test_agents_replies import _customer, _rows

COST = "UK £3.95, free over £50. Europe £7.50. USA and Canada £12."
WHERE = "We send to the UK, every EU country, the USA, Canada and Australia. Not to Asia or Africa."
PAY = "We take Visa, Mastercard, Amex, Apple Pay and PayPal at checkout."
DELIVERY = "Allow 3-5 working days to make your piece; then UK 1-2 days, Europe 3-7."
RETURNS = "Send it back unworn within 30 days for a refund."


def _shop(**agent_kw) -> Agent:
    agent = factories.gen_agent(db.session, name="Fern", **agent_kw)
    factories.gen_entry(db.session, agent, "Shipping costs", COST, ["how much is postage", "delivery charge to Europe?"])
    factories.gen_entry(db.session, agent, "Where we ship", WHERE, ["do you ship internationally"])
    factories.gen_entry(db.session, agent, "Payment", PAY)
    factories.gen_entry(db.session, agent, "Delivery times", DELIVERY, ["when will my order arrive"])
    factories.gen_entry(db.session, agent, "Returns", RETURNS, ["can I send it back"])
    db.session.commit()
    return db.session.get(Agent, agent.id)


def test_the_model_comes_with_the_package_and_vectors_are_stored_when_an_entry_is_saved(app):
    assert embeddings.available()
    agent = _shop()
    entry = db.session.scalar(select(KnowledgeEntry).where(KnowledgeEntry.agent_id == agent.id,
                                                           KnowledgeEntry.title == "Shipping costs"))
    assert entry.vectors_model == embeddings.MODEL_NAME and entry.language == "en"
    # the title and body, the title, and each of the two example questions
    assert embeddings.unpack(entry.vectors).shape == (4, embeddings.DIM)


def test_a_paraphrase_that_shares_no_word_with_the_entry_finds_it(app):
    agent = _shop()
    result = answer(db.session, agent, "what do you charge for postage")
    assert result.text == COST
    hits = retrieval.search(db.session, agent.id, "which countries do you deliver to?")
    assert hits[0].title == "Where we ship" and hits[0].semantic > hits[1].semantic


def test_an_example_question_is_matched_like_the_entry(app):
    agent = _shop()
    hits = retrieval.search(db.session, agent.id, "when is my order going to arrive")
    assert hits[0].title == "Delivery times" and hits[0].confidence >= agent.min_score


def test_do_you_take_paypal_finds_the_payment_entry_that_lists_it(app):
    assert answer(db.session, _shop(), "do you take paypal?").text == PAY


def test_two_questions_get_one_reply_covering_each(app):
    result = answer(db.session, _shop(), "do you take paypal? and when will my order arrive")
    assert result.text == f"{PAY}\n\n{DELIVERY}" and result.handoff is None
    assert [h.title for h in result.hits] == ["Payment", "Delivery times"]


def test_a_part_no_entry_answers_is_handed_off_after_the_rest_is_answered(app):
    agent, conv = _agent_on_a_channel()
    message_id = _customer(conv, "do you take paypal? and do you sell gift vouchers for christmas")
    reply_to_message(message_id)
    rows, conv = _rows(conv.id)
    assert rows[0] == ("out", "ai", PAY)
    assert rows[1][0] == "note" and rows[1][2].startswith("AI answered part and handed the rest to a teammate")
    assert "gift vouchers" in rows[1][2] and conv.needs_human
    gap = db.session.scalar(select(KnowledgeGap).where(KnowledgeGap.message_id == message_id))
    assert gap.kind == "unanswered" and gap.agent_id == agent.id


def test_two_entries_scoring_alike_are_not_guessed_between(app):
    agent = factories.gen_agent(db.session, name="Twins")
    factories.gen_entry(db.session, agent, "Opening hours in summer", "June to August: 8:00-20:00 every day.")
    factories.gen_entry(db.session, agent, "Opening hours in winter", "November to March: 9:00-17:00, closed Mondays.")
    db.session.commit()
    result = answer(db.session, db.session.get(Agent, agent.id), "what are your opening hours")
    assert result.text is None and "match about equally" in result.handoff


def _agent_on_a_channel():
    agent = _shop()
    channel = factories.gen_channel(db.session, agent_id=agent.id, ai_enabled=True)
    conv = factories.gen_conversation(db.session, channel)
    db.session.commit()
    return agent, conv


def test_a_follow_up_is_read_with_the_question_before_it(app):
    agent, conv = _agent_on_a_channel()
    first = _customer(conv, "how much is shipping to the uk")
    reply_to_message(first)
    follow_up = factories.gen_message(db.session, conv, "in", text="and to canada?")
    db.session.commit()
    reply_to_message(follow_up.id)
    rows, _conv = _rows(conv.id)
    assert rows == [("out", "ai", COST), ("out", "ai", COST)]


def test_the_newest_question_is_answered_on_its_own_first(app):
    agent, conv = _agent_on_a_channel()
    reply_to_message(_customer(conv, "how much is shipping to the uk"))
    newest = factories.gen_message(db.session, conv, "in", text="and can I send it back if it doesn't fit?")
    db.session.commit()
    reply_to_message(newest.id)
    assert _rows(conv.id)[0][-1] == ("out", "ai", RETURNS)


def test_without_the_model_the_agent_matches_words_and_its_page_says_so(app, admin_client, monkeypatch):
    agent = _shop()
    monkeypatch.setattr(embeddings, "available", lambda: False)
    monkeypatch.setattr(embeddings, "encode", lambda texts: None)
    retrieval._cache.clear()
    hits = retrieval.search(db.session, agent.id, "how much is shipping to the uk")
    assert hits[0].title == "Shipping costs" and hits[0].semantic == 0.0
    page = admin_client.get(f"/agents/{agent.id}").get_data(as_text=True)
    assert "This agent matches words only (BM25): the embedding model is not installed" in page
    monkeypatch.undo()
    retrieval._cache.clear()
    assert "matches words only" not in admin_client.get(f"/agents/{agent.id}").get_data(as_text=True)


def test_try_it_shows_the_candidates_their_scores_and_why(admin_client, app):
    agent = _shop()
    html = admin_client.post(f"/agents/{agent.id}/try", data={"message": "what do you charge for postage"},
                             headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "The agent would reply" in html and COST in html
    assert 'id="try-candidates"' in html and "Shipping costs" in html and "used" in html
    assert "Why: “Shipping costs” scores" in html or "Why: \u201cShipping costs\u201d scores" in html
    html = admin_client.post(f"/agents/{agent.id}/try", data={"message": "do you sell tea?"},
                             headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "The agent would hand off to a teammate" in html and "No knowledge entry matches this message." in html
    html = admin_client.post(f"/agents/{agent.id}/try", data={"message": "can I send it back?"},
                             headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "The agent would reply" in html and RETURNS in html


def test_example_questions_are_saved_from_the_knowledge_form_and_too_many_are_refused(admin_client, app):
    agent = factories.gen_agent(db.session, name="Cafe")
    db.session.commit()
    resp = admin_client.post(f"/agents/{agent.id}/knowledge", data={
        "title": "Wi-Fi", "body": "Free Wi-Fi; the password is on your receipt.",
        "examples": "is there internet\n\n  can I work on my laptop  \n"}, headers={"HX-Request": "true"})
    assert resp.status_code == 200 and "1 example question" not in resp.get_data(as_text=True)
    entry = db.session.scalar(select(KnowledgeEntry).where(KnowledgeEntry.agent_id == agent.id))
    assert entry.example_list == ["is there internet", "can I work on my laptop"]
    assert "2 example questions" in resp.get_data(as_text=True)
    too_many = "\n".join(f"question {n}" for n in range(25))
    resp = admin_client.post(f"/agents/{agent.id}/knowledge", data={"title": "Dogs", "body": "Dogs welcome.",
                                                                   "examples": too_many},
                             headers={"HX-Request": "true"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400 and "Up to 20 example questions: this has 25." in html
    assert "question 24" in html and 'value="Dogs"' in html  # nothing typed is lost
