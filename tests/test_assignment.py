"""Assignment rules: round-robin per account among teammates who see it and are online, the
Online/Away toggle, hand-off assignment when the AI answers first, and the flag (and view) for a
conversation waiting too long for a first reply."""
from __future__ import annotations

import re
from html import unescape
from datetime import timedelta

from sqlalchemy import insert, select

from keloa_web.db import db, utcnow
from keloa_web.models import Channel, Conversation, Message, SavedView, User, channel_members
from keloa_web.webhooks import ingest
from tests import factories, helpers
from tests.receive.util import body, channel, messaging, post

BIZ = "17841400000000077"


def _people(app):
    for email, name in (("ada@example.com", "Ada"), ("ben@example.com", "Ben"), ("cy@example.com", "Cy")):
        helpers.make_user(app, email=email, name=name, role="agent")
    return {u.name: u for u in db.session.scalars(select(User))}


def _customers_write(client, *names: str, start: int = 1_760_000_000_000, text: str = "Hello?"):
    for i, name in enumerate(names):
        post(client, body(BIZ, messaging(name, BIZ, start + i, message={"mid": f"m-{name}", "text": text})))
    ingest.drain_batch()
    db.session.rollback()
    return {c.contact.igsid: c for c in db.session.scalars(select(Conversation))}


def test_new_conversations_go_round_robin_to_online_teammates_with_access(app, client, admin, admin_client):
    people = _people(app)
    db.session.rollback()
    ch = channel(BIZ, restricted=True)
    db.session.execute(insert(channel_members), [{"channel_id": ch.id, "user_id": people[n].id} for n in ("Ada", "Ben", "Cy")])
    db.session.commit()
    resp = admin_client.post(f"/integrations/channels/{ch.id}/assignment", htmx=True, data={"mode": "round_robin"})
    assert "New conversations are assigned in turn." in resp.get_data(as_text=True)
    cy = helpers.Client(app)
    cy.login("cy@example.com")
    page = cy.post("/settings/availability", data={"availability": "away"}, follow_redirects=True).get_data(as_text=True)
    assert "You are away: new conversations are not assigned to you" in page and ">Away<" in page.replace("\n", "")

    convs = _customers_write(client, "c1", "c2", "c3", "c4", "c5")
    who = [convs[c].assignee_id for c in ("c1", "c2", "c3", "c4", "c5")]
    # Olivia (admin) sees every account and is online too: in turn by id, Cy (away) skipped.
    order = sorted([admin.id, people["Ada"].id, people["Ben"].id])
    assert who == [order[0], order[1], order[2], order[0], order[1]]
    thread = admin_client.get(f"/inbox/c/{convs['c2'].id}").get_data(as_text=True)
    assert "Assigned to Ada in turn (round-robin)" in thread


def test_nobody_online_leaves_it_unassigned_and_says_so(app, client, admin, admin_client):
    ch = channel(BIZ, assignment="round_robin")
    admin_client.post("/settings/availability", data={"availability": "away"})
    conv = _customers_write(client, "c1")["c1"]
    assert conv.assignee_id is None
    assert "Left unassigned: nobody who sees this account is online" in admin_client.get(
        f"/inbox/c/{conv.id}").get_data(as_text=True)
    assert ch.id
    page = admin_client.post("/settings/availability", data={"availability": "online"}, follow_redirects=True)
    assert "You are online" in page.get_data(as_text=True)


def test_manual_accounts_leave_new_conversations_unassigned(app, client, admin):
    channel(BIZ)
    assert _customers_write(client, "c1")["c1"].assignee_id is None


def test_with_ai_replies_on_the_conversation_is_assigned_at_the_hand_off(app, client, admin, settings):
    agent = factories.gen_agent(db.session, name="Helper")
    db.session.commit()
    channel(BIZ, assignment="round_robin", ai_enabled=True, agent_id=agent.id)
    sent = int(utcnow().timestamp() * 1000)
    conv = _customers_write(client, "c1", start=sent, text="Do you repair bicycles?")["c1"]
    assert conv.assignee_id is None  # the AI answers first: assigned conversations keep it quiet
    from keloa_web.agents.jobs import reply_to_message

    inbound = db.session.scalar(select(Message).where(Message.conversation_id == conv.id))
    reply_to_message(inbound.id)  # the AI's turn: nothing in its knowledge answers, so it hands off
    db.session.rollback()
    conv = db.session.get(Conversation, conv.id)
    assert conv.needs_human and conv.assignee_id == admin.id
    lines = [m.text for m in
             db.session.scalars(select(Message).where(Message.conversation_id == conv.id, Message.direction == "note"))]
    assert "Assigned to Olivia Owner in turn (round-robin), handed off by the AI" in lines


def test_admins_set_the_rule_with_errors_on_the_team_page(app, admin_client):
    ch = factories.gen_channel(db.session)
    db.session.commit()
    url = f"/integrations/channels/{ch.id}/assignment"
    for data, error in [({"mode": "sometimes"}, "Choose how new conversations are assigned."),
                        ({"mode": "manual", "first_reply_minutes": "soon"}, "Give the wait in whole minutes"),
                        ({"mode": "manual", "first_reply_minutes": "0"}, "from 1 to 10080"),
                        ({"mode": "manual", "first_reply_minutes": "99999"}, "from 1 to 10080")]:
        resp = admin_client.post(url, htmx=True, data=data)
        html = resp.get_data(as_text=True)
        assert resp.status_code == 422 and error in html, data
        if "first_reply_minutes" in data:
            assert f'value="{data["first_reply_minutes"]}"' in html and 'aria-invalid="true"' in html  # kept, marked
    html = unescape(admin_client.post(url, htmx=True, data={"mode": "manual", "first_reply_minutes": "30"}).get_data(as_text=True))
    assert "flagged after 30 min without a first reply, in the team's new view “Waiting for a first reply”" in html
    db.session.expire_all()
    assert db.session.get(Channel, ch.id).first_reply_minutes == 30
    html = admin_client.post(url, htmx=True, data={"mode": "manual", "first_reply_minutes": "45"}).get_data(as_text=True)
    assert "in the view “Waiting for a first reply”" in html
    assert len(db.session.scalars(select(SavedView)).all()) == 1  # made once


def test_a_conversation_waiting_too_long_for_a_first_reply_is_flagged_and_in_the_view(app, admin_client, agent_client):
    ch = factories.gen_channel(db.session, first_reply_minutes=30)
    other = factories.gen_channel(db.session)  # no flag on this account
    old = utcnow() - timedelta(minutes=42)
    waiting = factories.gen_conversation(db.session, ch, created_at=old, contact=factories.gen_contact(
        db.session, ch, name="Wanda Waiting"))
    factories.gen_conversation(db.session, ch, created_at=utcnow() - timedelta(minutes=5), contact=factories.gen_contact(
        db.session, ch, name="Nina New"))
    factories.gen_conversation(db.session, ch, created_at=old, first_reply_at=old, contact=factories.gen_contact(
        db.session, ch, name="Rita Replied"))
    factories.gen_conversation(db.session, other, created_at=old, contact=factories.gen_contact(
        db.session, other, name="Otis Other"))
    db.session.add(SavedView(name="Waiting for a first reply", query="status=open&waiting=1"))
    db.session.commit()
    page = agent_client.get("/inbox").get_data(as_text=True)
    row = page[page.index("Wanda Waiting"):]
    assert re.search(r"Waiting 4[23] min for a first reply", row[:3000])
    assert len(re.findall(r"Waiting \d+ min for a first reply", page)) == 1  # Wanda only
    listed = agent_client.get("/inbox?status=open&waiting=1").get_data(as_text=True)
    assert "Wanda Waiting" in listed and not any(n in listed for n in ("Nina New", "Rita Replied", "Otis Other"))
    counts = agent_client.get("/inbox/views", htmx=True).get_data(as_text=True)
    assert re.search(r"Waiting for a first reply\s*</span>\s*<span[^>]*>\s*1\s*<", counts), counts
    # A teammate's reply ends the wait.
    helpers_conv = db.session.get(Conversation, waiting.id)
    from keloa_web.sends import outbox

    outbox.create_outgoing(db.session, helpers_conv, text="Hi Wanda!", user_id=None)
    db.session.commit()
    assert "Wanda Waiting" not in agent_client.get("/inbox?status=open&waiting=1").get_data(as_text=True)
