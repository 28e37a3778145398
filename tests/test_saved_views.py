"""Saved views and the filters they keep: window phase (from the one window policy), unassigned,
label; a view's count is the list's own; team views are admins' to add."""
from __future__ import annotations

import html
import re
from datetime import timedelta

from sqlalchemy import select

from keloa_web.db import db, utcnow
from keloa_web.models import Label, SavedView
from tests import factories


def _convs():
    ch = factories.gen_channel(db.session)
    made = {}
    for name, ago in (("Fresh", timedelta(hours=2)), ("Tagged", timedelta(days=3)),
                      ("Closing", timedelta(days=6, hours=12)), ("Gone", timedelta(days=9))):
        made[name] = factories.gen_conversation(db.session, ch, factories.gen_contact(db.session, ch, name=name),
                                                last_customer_ago=ago)
    db.session.commit()
    return made


def _names(page: str) -> set[str]:
    return set(re.findall(r'<span class="conv-name">([^<]+)</span>', page)) & {"Fresh", "Tagged", "Closing", "Gone"}


def test_the_window_filter_follows_the_window_policy(agent_client, app):
    _convs()
    get = lambda q: _names(agent_client.get(f"/inbox?{q}").get_data(as_text=True))  # noqa: E731
    assert get("window=open") == {"Fresh"}
    assert get("window=human_agent_only") == {"Tagged", "Closing"}
    assert get("window=closing") == {"Closing"}
    assert get("window=closed") == {"Gone"}
    assert get("window=bogus") == {"Fresh", "Tagged", "Closing", "Gone"}  # an unknown value filters nothing


def test_a_message_from_an_ad_keeps_the_window_open_in_the_filter(agent_client, app):
    conv = _convs()["Tagged"]
    conv.ad_message_at = utcnow() - timedelta(days=3)
    db.session.commit()
    assert "Tagged" in _names(agent_client.get("/inbox?window=open").get_data(as_text=True))


def test_save_a_view_and_see_its_count(agent_client, admin_client, app, agent_user):
    made = _convs()
    made["Closing"].assignee_id = agent_user.id
    db.session.commit()
    resp = agent_client.post("/inbox/views", htmx=True, data={"name": "Closing soon", "status": "open",
                                                               "window": "closing"})
    page = html.unescape(resp.get_data(as_text=True))
    assert resp.status_code == 200 and "Closing soon" in page and 'aria-label="1 conversations"' in page
    view = db.session.scalar(select(SavedView))
    assert view.owner_id == agent_user.id and view.query == "status=open&window=closing"
    inbox = agent_client.get("/inbox").get_data(as_text=True)
    assert 'href="/inbox?status=open&amp;window=closing"' in inbox
    assert "Closing soon" not in admin_client.get("/inbox").get_data(as_text=True)  # it is the agent's own
    unassigned = agent_client.post("/inbox/views", htmx=True, data={"name": "Nobody's", "status": "open",
                                                                    "assignee": "none"}).get_data(as_text=True)
    assert 'aria-label="3 conversations"' in unassigned


def test_view_errors_are_said_in_the_form_and_team_views_are_for_admins(agent_client, admin_client, app):
    resp = agent_client.post("/inbox/views", htmx=True, data={"name": "  "})
    assert resp.status_code == 422 and "Name the view" in html.unescape(resp.get_data(as_text=True))
    resp = agent_client.post("/inbox/views", htmx=True, data={"name": "All VIP", "team": "1"})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "Only admins save views for the whole team" in page and 'value="All VIP"' in page
    admin_client.post("/inbox/views", htmx=True, data={"name": "Team VIP", "team": "1", "status": "open"})
    team = db.session.scalar(select(SavedView).where(SavedView.name == "Team VIP"))
    assert team.owner_id is None and "Team VIP" in agent_client.get("/inbox").get_data(as_text=True)
    assert agent_client.post(f"/inbox/views/{team.id}/delete", htmx=True).status_code == 403
    assert admin_client.post(f"/inbox/views/{team.id}/delete", htmx=True).status_code == 200
    assert db.session.scalar(select(SavedView)) is None


def test_a_views_name_is_escaped_and_a_label_view_counts_its_label(agent_client, app):
    made = _convs()
    vip = Label(name="VIP", color="purple")
    db.session.add(vip)
    db.session.flush()
    made["Fresh"].labels = [vip]
    db.session.commit()
    page = agent_client.post("/inbox/views", htmx=True, data={"name": "<b>VIP</b>", "status": "all",
                                                               "label": str(vip.id)}).get_data(as_text=True)
    assert "<b>VIP</b>" not in page and "&lt;b&gt;VIP&lt;/b&gt;" in page and 'aria-label="1 conversations"' in page


def test_counts_come_in_their_own_request_which_the_poll_asks_for(agent_client, app):
    from keloa_web import changes

    made = _convs()
    agent_client.post("/inbox/views", htmx=True, data={"name": "Open window", "status": "open", "window": "open"})
    page = agent_client.get("/inbox").get_data(as_text=True)
    assert "Open window" in page and "view-count" not in page  # the page itself counts nothing
    assert 'hx-trigger="load, keloa-changes from:body"' in page
    cursor = changes.latest_id(db.session)
    made["Tagged"].last_customer_message_at = utcnow()  # the customer wrote again
    changes.touch(db.session, made["Tagged"].id)
    db.session.commit()
    resp = agent_client.get(f"/inbox/changes?cursor={cursor}", htmx=True)
    assert resp.headers["HX-Trigger"] == "keloa-changes"
    counted = agent_client.get("/inbox/views?status=open", htmx=True).get_data(as_text=True)
    assert 'aria-label="2 conversations"' in counted and 'hx-trigger="keloa-changes from:body"' in counted
    assert agent_client.get(f"/inbox/changes?cursor={changes.latest_id(db.session)}", htmx=True).status_code == 204
