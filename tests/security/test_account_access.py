"""Per-account access: a teammate without access to an account cannot open, search, count, be
assigned or follow live any of its conversations, on every route that names one; a teammate with
access and an admin can. (Anonymous visitors are refused everywhere: test_access_control.py.)"""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, insert, select

from keloa_web.db import db
from keloa_web.models import Attachment, ContactNote, Conversation, Notification, SavedView, User, channel_members
from tests import factories, helpers
from tests.security.routes import all_routes, route_id

ADMIN_ONLY = {"privacy.contact_erase"}
# The arguments a route names, filled with the hidden account's objects.
ARGS = {"conv_id", "attachment_id", "contact_id", "message_id", "note_id"}
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64


@pytest.fixture()
def hidden(app, admin):
    """Two accounts: "Shop North" open to everyone, "Shop South" restricted to Tess."""
    helpers.make_user(app, email="tess@example.com", name="Tess Teammate", role="agent")
    helpers.make_user(app, email="otto@example.com", name="Otto Outsider", role="agent")
    north = factories.gen_channel(db.session, display_name="Shop North")
    south = factories.gen_channel(db.session, display_name="Shop South", restricted=True)
    tess = db.session.scalar(select(User).where(User.email == "tess@example.com"))
    db.session.execute(insert(channel_members).values(channel_id=south.id, user_id=tess.id))
    seen = factories.gen_conversation(db.session, north, contact=factories.gen_contact(
        db.session, north, name="Nora North", username="nora"), unread_count=1, last_message_preview="hello north")
    secret = factories.gen_conversation(db.session, south, contact=factories.gen_contact(
        db.session, south, name="Sam South", username="sam", picture_path="x/sam.jpg"), unread_count=1,
        last_message_preview="secret order")
    message = factories.gen_message(db.session, secret, text="my secret order number")
    db.session.add(Attachment(message_id=message.id, type="image", status="stored", local_path="x/y.jpg",
                              content_type="image/jpeg"))
    failed = factories.gen_message(db.session, secret, direction="out", text="a reply that failed", status="failed")
    note = ContactNote(contact_id=secret.contact_id, author_user_id=tess.id, text="prefers email")
    db.session.add(note)
    db.session.commit()
    from keloa_web.media import storage

    with app.app_context():
        for name in ("x/y.jpg", "x/sam.jpg"):
            path = storage.root() / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(JPEG)
    att = db.session.scalar(select(Attachment))
    return {"north": north.id, "south": south.id, "conv_id": secret.id, "seen_id": seen.id,
            "attachment_id": att.id, "contact_id": secret.contact_id, "message_id": failed.id, "note_id": note.id, "tess": tess.id}


def _client(app, email):
    c = helpers.Client(app)
    c.login(email)
    return c


def _routes_naming_a_conversation(app):
    out = []
    for route in all_routes(app):
        names = set(re.findall(r"<int:(\w+)>", route.rule))
        if names and names <= ARGS and route.blueprint not in {"agents"}:
            out.append(route)
    return out


def _call(client, route, ids, htmx):
    url = route.rule
    for name in ARGS:
        url = url.replace(f"<int:{name}>", str(ids[name]))
    url = re.sub(r"<any\(([^,)]+)[^)]*\):\w+>", lambda m: m.group(1).strip(" '\""), url)  # its first choice
    if route.method == "GET":
        return client.get(url, htmx=htmx)
    return client.post(url, htmx=htmx, data={"text": "hi", "status": "resolved", "assignee_id": "", "preset": "1h",
                                             "paused": "1", "confirm": ""})


def test_every_route_naming_a_conversation_hides_an_account_without_access(app, hidden):
    routes = _routes_naming_a_conversation(app)
    assert {r.endpoint for r in routes} >= {"contacts.contact_show", "contacts.note_delete", "inbox.conversation_show", "inbox.message_create", "inbox.conversation_assign",
                                           "replies.for_conversation", "media.attachment_show", "media.contact_picture",
                                           "inbox.reply_suggest", "inbox.window_show", "inbox.conversation_labels",
                                           "reports.transcript"}
    otto = _client(app, "otto@example.com")
    leaks = []
    for route in routes:
        for htmx in (False, True):
            resp = _call(otto, route, hidden, htmx)
            expected = (403, 404) if route.endpoint in ADMIN_ONLY else (404,)
            if resp.status_code not in expected:
                leaks.append(f"{route_id(route)} htmx={htmx}: {resp.status_code}")
            assert "Sam South" not in resp.get_data(as_text=True), route_id(route)
    assert not leaks, "reachable without access to the account:\n" + "\n".join(leaks)
    db.session.expire_all()
    conv = db.session.get(Conversation, hidden["conv_id"])
    assert conv.status == "open" and conv.unread_count == 1  # nothing was changed either


@pytest.mark.parametrize("email", ["tess@example.com", "owner@example.com"])
def test_a_teammate_with_access_and_an_admin_reach_the_same_routes(app, hidden, email):
    person = _client(app, email)
    for route in _routes_naming_a_conversation(app):
        media = route.blueprint == "media"
        resp = _call(person, route, hidden, htmx=not media)  # (htmx never gets a file's bytes)
        if route.endpoint in ADMIN_ONLY and email.startswith("tess"):
            assert resp.status_code == 403, route_id(route)
        else:
            assert resp.status_code != 404, f"{route_id(route)}: {resp.status_code}"
            if media:
                assert resp.status_code == 200 and resp.data == JPEG, route_id(route)


def test_the_list_search_counts_and_live_poll_leave_out_an_account_without_access(app, hidden):
    db.session.add(SavedView(name="Everything open", query="status=open"))
    db.session.commit()
    otto, tess = _client(app, "otto@example.com"), _client(app, "tess@example.com")
    page = otto.get("/inbox").get_data(as_text=True)
    assert "Nora North" in page and "Sam South" not in page and "Shop South" not in page  # nor in the account filter
    assert ">1 unread</span>" in page
    page = tess.get("/inbox").get_data(as_text=True)
    assert "Sam South" in page and ">2 unread</span>" in page
    for q in ("secret", "sam", "@sam"):
        assert "Sam South" not in otto.get(f"/inbox?q={q}&status=all").get_data(as_text=True), q
    assert "Sam South" in tess.get("/inbox?q=secret&status=all").get_data(as_text=True)
    assert "Sam South" not in otto.get(f"/inbox?channel={hidden['south']}").get_data(as_text=True)
    counts = otto.get("/inbox/views", htmx=True).get_data(as_text=True)
    assert re.search(r"Everything open\s*</span>\s*<span[^>]*>\s*1\s*<", counts), counts
    counts = tess.get("/inbox/views", htmx=True).get_data(as_text=True)
    assert re.search(r"Everything open\s*</span>\s*<span[^>]*>\s*2\s*<", counts), counts
    # A change to the hidden conversation reaches Tess's live list, never Otto's.
    from keloa_web import changes

    with db.session_scope() as s:
        changes.touch(s, hidden["conv_id"])
    for client, shown in ((otto, False), (tess, True)):
        resp = client.get(f"/inbox/changes?cursor=0&c={hidden['conv_id']}", htmx=True,
                          headers={"Sec-Fetch-Site": "same-origin"})
        assert ("Sam South" in resp.get_data(as_text=True)) is shown
        db.session.expire_all()  # reading it on screen clears its badge: only for who may read it
        assert db.session.get(Conversation, hidden["conv_id"]).unread_count == (0 if shown else 1)


def test_only_teammates_with_access_can_be_assigned_and_are_offered(app, hidden, admin_client):
    otto = db.session.scalar(select(User).where(User.email == "otto@example.com"))
    thread = admin_client.get(f"/inbox/c/{hidden['conv_id']}").get_data(as_text=True)
    menu = re.search(r'<select name="assignee_id" aria-label="Assigned to">.*?</select>', thread, re.S).group(0)
    assert "Tess Teammate" in menu and "Otto Outsider" not in menu  # the thread's Assign menu
    resp = admin_client.post(f"/inbox/c/{hidden['conv_id']}/assign", htmx=True, data={"assignee_id": str(otto.id)})
    assert resp.status_code == 422
    assert "Otto Outsider has no access to this account" in resp.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Conversation, hidden["conv_id"]).assignee_id is None
    resp = admin_client.post(f"/inbox/c/{hidden['conv_id']}/assign", htmx=True, data={"assignee_id": str(hidden["tess"])})
    assert resp.status_code == 200 and "Assigned to Tess Teammate by Olivia Owner" in resp.get_data(as_text=True)


def test_an_admin_restricts_and_opens_an_account_and_whoever_loses_it_is_unassigned(app, hidden, admin_client):
    conv = db.session.get(Conversation, hidden["conv_id"])
    conv.assignee_id = hidden["tess"]
    db.session.commit()
    page = admin_client.get(f"/integrations/channels/{hidden['south']}/team").get_data(as_text=True)
    assert "Who sees this account" in page and "Tess Teammate" in page and "Otto Outsider" in page
    assert re.search(r'value="chosen"\s+checked', page)
    url = f"/integrations/channels/{hidden['south']}/access"
    resp = admin_client.post(url, htmx=True, data={"who": "chosen", "member": ["999999"]})
    assert resp.status_code == 422 and "has left the team meanwhile" in resp.get_data(as_text=True)
    resp = admin_client.post(url, htmx=True, data={"who": "sometimes"})
    assert resp.status_code == 422 and "Choose who sees this account" in resp.get_data(as_text=True)
    otto_id = db.session.scalar(select(User.id).where(User.email == "otto@example.com"))
    html = admin_client.post(url, htmx=True, data={"who": "chosen", "member": [str(otto_id)]}).get_data(as_text=True)
    assert "Only admins and Otto Outsider see Shop South. 1 conversation was unassigned" in html
    db.session.expire_all()
    assert db.session.get(Conversation, hidden["conv_id"]).assignee_id is None
    thread = admin_client.get(f"/inbox/c/{hidden['conv_id']}").get_data(as_text=True)
    assert "Unassigned: Tess Teammate no longer has access to Shop South (changed by Olivia Owner)" in thread
    assert _client(app, "tess@example.com").get(f"/inbox/c/{hidden['conv_id']}").status_code == 404
    assert _client(app, "otto@example.com").get(f"/inbox/c/{hidden['conv_id']}").status_code == 200
    html = admin_client.post(url, htmx=True, data={"who": "everyone"}).get_data(as_text=True)
    assert "Everyone on the team sees Shop South." in html
    assert _client(app, "tess@example.com").get(f"/inbox/c/{hidden['conv_id']}").status_code == 200
    card = admin_client.get("/integrations/").get_data(as_text=True)
    assert "Team (restricted)" not in card


def test_teammates_cannot_change_who_sees_an_account(app, hidden):
    tess = _client(app, "tess@example.com")
    assert tess.get(f"/integrations/channels/{hidden['south']}/team").status_code == 403
    resp = tess.post(f"/integrations/channels/{hidden['south']}/access", data={"who": "everyone"})
    assert resp.status_code == 403
    assert db.session.get(type(db.session.get(Conversation, hidden["conv_id"]).contact), hidden["contact_id"])


def test_losing_access_takes_the_notifications_and_the_live_list_never_names_hidden_ones(app, hidden, admin_client):
    from keloa_web import changes
    from keloa_web.notifications import notify

    otto_id = db.session.scalar(select(User.id).where(User.email == "otto@example.com"))
    admin_client.post(f"/integrations/channels/{hidden['south']}/access", htmx=True, data={"who": "everyone"})
    with db.session_scope() as s:
        notify.new_conversation(s, s.get(Conversation, hidden["conv_id"]), "my secret order number 42")
    otto = _client(app, "otto@example.com")
    assert "secret order number" in otto.get("/notifications").get_data(as_text=True)
    admin_client.post(f"/integrations/channels/{hidden['south']}/access", htmx=True,
                      data={"who": "chosen", "member": [str(hidden["tess"])]})
    assert "secret order number" not in otto.get("/notifications").get_data(as_text=True)
    app.config["LIVE_STREAM_SECONDS"] = 0.3
    assert "secret order" not in otto.get("/live?cursor=0&n=0", buffered=True).get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Notification).where(Notification.user_id == otto_id)) == 0
    with db.session_scope() as s:
        changes.touch(s, hidden["conv_id"])
    poll = otto.get("/inbox/changes?cursor=0", htmx=True).get_data(as_text=True)
    assert f'conv-{hidden["conv_id"]}' not in poll  # not even as a row to remove


def test_a_bulk_list_longer_than_the_limit_is_refused_clearly(app, hidden, admin_client):
    resp = admin_client.post("/inbox/bulk", htmx=True, data={"action": "resolve", "ids": [str(i) for i in range(1, 5003)]})
    assert resp.status_code == 422 and "more than 5,000 conversations" in resp.get_data(as_text=True)
