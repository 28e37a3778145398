"""The "Unanswered questions" page: what the agent handed off for lack of knowledge and what a
teammate corrected, grouped, and closed by "Add to knowledge base" or "Dismiss"."""
from __future__ import annotations

from sqlalchemy import select

from keloa_web.agents.jobs import reply_to_message
from keloa_web.db import db
from keloa_web.models import Channel, KnowledgeEntry, KnowledgeGap
from tests import factories
from tests.test_agents_replies import _customer, _rows
from tests.test_agents_semantic import COST, _agent_on_a_channel

VOUCHERS = "Gift vouchers from £20, sent by email, valid for a year."


def _page(client, agent):
    return client.get(f"/agents/{agent.id}/unanswered").get_data(as_text=True)


def test_a_hand_off_for_lack_of_knowledge_is_listed_and_similar_ones_are_grouped(app, admin_client):
    agent, conv = _agent_on_a_channel()
    for text in ("do you sell gift vouchers?", "do you sell gift vouchers??"):
        c = factories.gen_conversation(db.session, db.session.get(Channel, conv.channel_id))
        db.session.commit()
        reply_to_message(_customer(c, text))
    reply_to_message(_customer(conv, "are you hiring?"))
    html = _page(admin_client, agent)
    assert "Handed off: no entry answered <span class=\"badge\" title=\"customer messages\">3</span>" in html
    assert "“do you sell gift vouchers?”" in html and "asked 2 times" in html and "“are you hiring?”" in html
    assert "Open the conversation" in html
    # the agent's page links to it with the count of open questions
    assert 'id="unanswered-link"' in admin_client.get(f"/agents/{agent.id}").get_data(as_text=True)


def test_add_to_knowledge_base_creates_the_entry_closes_the_group_and_the_next_customer_is_answered(app, admin_client):
    agent, conv = _agent_on_a_channel()
    reply_to_message(_customer(conv, "do you sell gift vouchers?"))
    gap = db.session.scalar(select(KnowledgeGap))
    # what "Add to knowledge base" pre-fills: the question as title and as an example question
    html = _page(admin_client, agent)
    assert 'value="do you sell gift vouchers?"' in html
    resp = admin_client.post(f"/agents/{agent.id}/unanswered/add", headers={"HX-Request": "true"}, data={
        "gap_ids": str(gap.id), "title": "Gift vouchers", "body": VOUCHERS, "examples": "do you sell gift vouchers?"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "Added “Gift vouchers” to the knowledge base; 1 question closed." in html
    assert "Nothing waiting." in html
    entry = db.session.scalar(select(KnowledgeEntry).where(KnowledgeEntry.title == "Gift vouchers"))
    assert entry.example_list == ["do you sell gift vouchers?"] and entry.vectors
    db.session.refresh(gap)
    assert gap.closed_at is not None and gap.closed_entry_id == entry.id
    other = factories.gen_conversation(db.session, db.session.get(Channel, conv.channel_id))
    db.session.commit()
    reply_to_message(_customer(other, "hi, do u sell gift vouchers"))
    assert _rows(other.id)[0] == [("out", "ai", VOUCHERS)]


def test_an_entry_with_an_error_keeps_what_was_typed(app, admin_client):
    agent, conv = _agent_on_a_channel()
    reply_to_message(_customer(conv, "do you sell gift vouchers?"))
    gap = db.session.scalar(select(KnowledgeGap))
    resp = admin_client.post(f"/agents/{agent.id}/unanswered/add", headers={"HX-Request": "true"}, data={
        "gap_ids": str(gap.id), "title": "Gift vouchers", "body": "", "examples": "vouchers?"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400 and "Write the answer or article text." in html
    assert 'value="Gift vouchers"' in html and ">vouchers?</textarea>" in html
    assert db.session.scalar(select(KnowledgeEntry).where(KnowledgeEntry.title == "Gift vouchers")) is None


def test_dismiss_closes_without_an_entry(app, admin_client):
    agent, conv = _agent_on_a_channel()
    reply_to_message(_customer(conv, "are you hiring?"))
    gap = db.session.scalar(select(KnowledgeGap))
    html = admin_client.post(f"/agents/{agent.id}/unanswered/dismiss", headers={"HX-Request": "true"},
                             data={"gap_ids": str(gap.id)}).get_data(as_text=True)
    assert "Dismissed 1 question." in html and "“are you hiring?”" not in html


def test_an_answer_a_teammate_corrects_is_listed_with_both_replies(app, admin_client):
    agent, conv = _agent_on_a_channel()
    reply_to_message(_customer(conv, "how much is postage to the uk"))
    assert _rows(conv.id)[0] == [("out", "ai", COST)]
    resp = admin_client.post(f"/inbox/c/{conv.id}/messages", data={"text": "Sorry, UK postage is £4.50 since June."},
                             headers={"HX-Request": "true"})
    assert resp.status_code == 200
    html = _page(admin_client, agent)
    assert "Answered, but a teammate corrected it <span class=\"badge\">1</span>" in html
    assert COST in html and "Sorry, UK postage is £4.50 since June." in html
    # a second teammate message is not a second correction
    admin_client.post(f"/inbox/c/{conv.id}/messages", data={"text": "Anything else?"}, headers={"HX-Request": "true"})
    assert db.session.scalar(select(KnowledgeGap).where(KnowledgeGap.kind == "corrected")) is not None
    assert len(db.session.scalars(select(KnowledgeGap)).all()) == 1


def test_customer_words_are_escaped(app, admin_client):
    agent, conv = _agent_on_a_channel()
    reply_to_message(_customer(conv, "<script>alert(1)</script> do you sell gift vouchers?"))
    html = _page(admin_client, agent)
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_only_admins_and_only_their_agents_gaps(app, agent_client, admin_client):
    agent, conv = _agent_on_a_channel()
    reply_to_message(_customer(conv, "are you hiring?"))
    gap = db.session.scalar(select(KnowledgeGap))
    assert agent_client.get(f"/agents/{agent.id}/unanswered").status_code == 403
    assert agent_client.post(f"/agents/{agent.id}/unanswered/dismiss", data={"gap_ids": str(gap.id)}).status_code == 403
    other = factories.gen_agent(db.session, name="Other")
    db.session.commit()
    admin_client.post(f"/agents/{other.id}/unanswered/dismiss", data={"gap_ids": str(gap.id)})
    db.session.refresh(gap)
    assert gap.closed_at is None  # another agent's page cannot close this agent's questions
    assert admin_client.post(f"/agents/{agent.id}/unanswered/dismiss", data={"gap_ids": "1,x"}).status_code == 400


def test_a_long_question_prefills_a_form_that_can_be_saved_as_it_is(app, admin_client):
    agent, conv = _agent_on_a_channel()
    long = "we are planning a private cupping evening for twenty people " * 6
    reply_to_message(_customer(conv, long.strip()))
    gap = db.session.scalar(select(KnowledgeGap))
    from keloa_web.agents.gaps import groups

    group = groups(db.session, agent.id, "unanswered")[0]
    assert len(group.title) <= 300 and group.title.endswith("…") and group.examples == ""
    resp = admin_client.post(f"/agents/{agent.id}/unanswered/add", headers={"HX-Request": "true"}, data={
        "gap_ids": str(gap.id), "title": group.title, "body": "Write to events@example.com.",
        "examples": group.examples})
    assert resp.status_code == 200


def test_adding_again_for_questions_already_closed_adds_nothing(app, admin_client):
    agent, conv = _agent_on_a_channel()
    reply_to_message(_customer(conv, "do you sell gift vouchers?"))
    gap = db.session.scalar(select(KnowledgeGap))
    data = {"gap_ids": str(gap.id), "title": "Gift vouchers", "body": VOUCHERS, "examples": ""}
    assert admin_client.post(f"/agents/{agent.id}/unanswered/add", data=data,
                             headers={"HX-Request": "true"}).status_code == 200
    resp = admin_client.post(f"/agents/{agent.id}/unanswered/add", data=data, headers={"HX-Request": "true"})
    assert resp.status_code == 409 and "Nothing was added: these questions were already closed" in resp.get_data(
        as_text=True)
    assert len(db.session.scalars(select(KnowledgeEntry).where(KnowledgeEntry.title == "Gift vouchers")).all()) == 1
    huge = admin_client.post(f"/agents/{agent.id}/unanswered/dismiss", data={"gap_ids": "9" * 30})
    assert huge.status_code == 400
