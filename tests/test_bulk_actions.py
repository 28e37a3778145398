"""Bulk actions in the list: resolve, reopen, pending, mark read, assign, label, unlabel and snooze
the ticked conversations or all in the view, only within what the teammate may see, each with its
activity line; a refusal is said above the list and changes nothing."""
from __future__ import annotations

from html import unescape

from sqlalchemy import insert, select

from keloa_web.db import db
from keloa_web.models import Conversation, Label, Message, User, channel_members
from tests import factories, helpers


def _convs(n=3, **kw):
    ch = factories.gen_channel(db.session, display_name="Shop")
    out = [factories.gen_conversation(db.session, ch, contact=factories.gen_contact(db.session, ch, name=f"C{i}"),
                                      unread_count=2, **kw) for i in range(n)]
    db.session.commit()
    return ch, out


def _state(ids):
    db.session.rollback()
    db.session.expire_all()
    return [db.session.get(Conversation, i) for i in ids]


def test_resolve_the_ticked_ones_and_the_list_and_threads_say_so(app, agent_client):
    _, (a, b, c) = _convs()
    resp = agent_client.post("/inbox/bulk", htmx=True, data={"action": "resolve", "ids": [str(a.id), str(b.id)],
                                                             "status": "open"})
    html = unescape(resp.get_data(as_text=True))
    assert resp.status_code == 200 and "Resolved 2 conversations." in html
    assert f'id="conv-{c.id}"' in html and f'id="conv-{a.id}"' not in html  # the Open list, as it is now
    assert [x.status for x in _state([a.id, b.id, c.id])] == ["resolved", "resolved", "open"]
    lines = db.session.scalars(select(Message.text).where(Message.conversation_id == a.id, Message.direction == "note")).all()
    assert lines == ["Resolved by Aaron Agent"]
    html = unescape(agent_client.post("/inbox/bulk", htmx=True, data={
        "action": "reopen", "ids": [str(a.id), str(c.id)], "status": "all"}).get_data(as_text=True))
    assert "Reopened 1 conversation. 1 already were." in html


def test_all_in_view_reaches_every_match_of_the_filters_and_only_them(app, agent_client):
    _, convs = _convs(4)
    vip = Label(name="VIP", color="purple")
    db.session.add(vip)
    convs[0].labels.append(vip)
    convs[1].labels.append(vip)
    db.session.commit()
    html = unescape(agent_client.post("/inbox/bulk", htmx=True, data={
        "action": "read", "all": "1", "status": "open", "label": str(vip.id)}).get_data(as_text=True))
    assert "Marked 2 conversations as read (in Keloa only" in html
    assert [c.unread_count for c in _state([c.id for c in convs])] == [0, 0, 2, 2]


def test_assign_label_unlabel_snooze_and_pending(app, agent_client, admin):
    _, (a, b) = _convs(2)
    db.session.add(Label(name="Wholesale", color="teal"))
    db.session.commit()
    label = db.session.scalar(select(Label))
    ids = [str(a.id), str(b.id)]
    html = unescape(agent_client.post("/inbox/bulk", htmx=True, data={
        "action": "assign", "assignee_id": str(admin.id), "ids": ids}).get_data(as_text=True))
    assert "Assigned 2 conversations to Olivia Owner." in html
    assert "Labelled 2 conversations “Wholesale”." in unescape(agent_client.post("/inbox/bulk", htmx=True, data={
        "action": "label", "label_id": str(label.id), "ids": ids}).get_data(as_text=True))
    assert "Took “Wholesale” off 1 conversation." in unescape(agent_client.post("/inbox/bulk", htmx=True, data={
        "action": "unlabel", "label_id": str(label.id), "ids": ids[:1]}).get_data(as_text=True))
    html = unescape(agent_client.post("/inbox/bulk", htmx=True, data={
        "action": "snooze", "preset": "tomorrow", "tz": "Europe/Lisbon", "ids": ids}).get_data(as_text=True))
    assert "Snoozed 2 conversations until " in html and "(Europe/Lisbon)" in html
    a2, b2 = _state([a.id, b.id])
    assert (a2.status, a2.assignee_id, [l.name for l in a2.labels]) == ("snoozed", admin.id, [])
    assert [l.name for l in b2.labels] == ["Wholesale"] and b2.snoozed_until is not None
    html = unescape(agent_client.post("/inbox/bulk", htmx=True, data={"action": "pending", "ids": ids, "status": "all"}
                                      ).get_data(as_text=True))
    assert "Marked pending 2 conversations." in html


def test_refusals_change_nothing_and_say_why(app, agent_client):
    _, (a,) = _convs(1)
    for data, said in [({"action": "resolve"}, "Tick the conversations first"),
                       ({"action": "explode", "ids": [str(a.id)]}, "Choose what to do with them."),
                       ({"action": "label", "label_id": "999", "ids": [str(a.id)]}, "Pick a label"),
                       ({"action": "assign", "assignee_id": "999", "ids": [str(a.id)]}, "no longer on the team"),
                       ({"action": "resolve", "ids": ["99999"]}, "None of those conversations is in this view")]:
        resp = agent_client.post("/inbox/bulk", htmx=True, data=data)
        assert resp.status_code == 422 and said in unescape(resp.get_data(as_text=True)), data
    assert _state([a.id])[0].status == "open"


def test_a_bulk_action_never_reaches_an_account_hidden_from_the_teammate(app, admin):
    _, (seen,) = _convs(1)
    hidden = factories.gen_channel(db.session, restricted=True)
    secret = factories.gen_conversation(db.session, hidden)
    db.session.commit()
    tess = helpers.make_user(app, email="tess@example.com", name="Tess", role="agent")
    otto = helpers.make_user(app, email="otto@example.com", name="Otto", role="agent")
    db.session.execute(insert(channel_members).values(channel_id=hidden.id, user_id=tess.id))
    db.session.commit()
    client = helpers.Client(app)
    client.login("otto@example.com")
    html = unescape(client.post("/inbox/bulk", htmx=True, data={"action": "resolve", "all": "1"}).get_data(as_text=True))
    assert "Resolved 1 conversation." in html
    assert [c.status for c in _state([seen.id, secret.id])] == ["resolved", "open"]
    resp = client.post("/inbox/bulk", htmx=True, data={"action": "resolve", "ids": [str(secret.id)], "status": "all"})
    assert resp.status_code == 422 and _state([secret.id])[0].status == "open"
    # Assigning in bulk to someone skips the conversations on accounts they cannot see.
    admin_client = helpers.Client(app)
    admin_client.login("owner@example.com")
    html = unescape(admin_client.post("/inbox/bulk", htmx=True, data={
        "action": "assign", "assignee_id": str(otto.id), "ids": [str(seen.id), str(secret.id)], "status": "all"}
    ).get_data(as_text=True))
    assert "Assigned 1 conversation to Otto. 1 conversation left as they were: Otto has no access to their account." in html
    assert db.session.scalar(select(User.id).where(User.id == otto.id))
