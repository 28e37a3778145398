"""After connecting: needs reconnect (revoked token, deauthorize), reconnect, disconnect at Meta, diagnostics."""
from __future__ import annotations

import json

from sqlalchemy import select

from keloa_web import crypto
from keloa_web.db import db, utcnow
from keloa_web.models import Channel
from tests import factories


def _coffee() -> Channel:
    return db.session.scalar(select(Channel).where(Channel.ig_username == "keloa.coffee"))


def _connect(client, sandbox, page: str = "coffee") -> Channel:
    resp = factories.connect_account(client, sandbox, page=page)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
    return _coffee()


def _checks(client, channel: Channel) -> dict[str, str]:
    resp = client.post(f"/integrations/channels/{channel.id}/diagnostics", htmx=True)
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "<html" not in body
    return body


def _page(sandbox, key: str = "coffee") -> dict:
    return next(p for p in sandbox.state()["pages"] if p["key"] == key)


def test_revoked_token_needs_reconnect_and_reconnect_restores(sandbox, app, admin_client):
    channel = _connect(admin_client, sandbox)
    old_token = channel.page_token_enc
    sandbox.control("POST", "tokens/revoke", json={"user": "ana", "reason": "password"})
    body = _checks(admin_client, channel)
    assert "Meta rejected the token" in body and "Reconnect" in body
    channel = _coffee()
    assert channel.status == "needs_reconnect" and not channel.can_send
    card = admin_client.get("/integrations/").get_data(as_text=True)
    assert "Needs reconnect" in card and "Sending and AI replies are paused" in card

    assert factories.connect_account(admin_client, sandbox).status_code == 302
    again = _coffee()
    assert again.id == channel.id and again.status == "active" and again.status_reason is None
    assert again.page_token_enc != old_token
    assert "is reconnected" in admin_client.get("/integrations/").get_data(as_text=True)


def test_removing_the_app_at_meta_calls_deauthorize(sandbox, app, live_server, admin_client):
    channel = _connect(admin_client, sandbox)
    sandbox.control("POST", "config", json={"SANDBOX_DEAUTH_URL": f"{live_server}/webhooks/meta/deauthorize"})
    result = sandbox.control("POST", "integrations/remove", json={"user": "ana"})
    assert result["deauthorize"]["status_code"] == 200
    db.session.rollback()
    channel = db.session.get(Channel, channel.id)
    assert channel.status == "needs_reconnect" and "Business integrations" in channel.status_reason


def test_disconnect_removes_the_subscription_at_meta(sandbox, app, admin_client):
    channel = _connect(admin_client, sandbox)
    assert _page(sandbox)["subscribed_fields"]
    resp = admin_client.post(f"/integrations/channels/{channel.id}/disconnect")
    assert resp.status_code == 302
    assert _page(sandbox)["subscribed_fields"] == []
    calls = sandbox.control("GET", "calls")["data"]
    assert any(c["method"] == "DELETE" and c["path"].endswith(f"/{channel.page_id}/subscribed_apps")
               and c["status"] == 200 for c in calls)
    channel = _coffee()
    assert channel.status == "disconnected" and channel.page_token_enc is None and not channel.can_send
    page = admin_client.get("/integrations/").get_data(as_text=True)
    assert "is disconnected" in page and "Meta no longer accepts" not in page


def test_disconnect_with_a_dead_token_still_disconnects_and_says_so(sandbox, app, admin_client):
    channel = _connect(admin_client, sandbox)
    sandbox.control("POST", "tokens/revoke", json={"user": "ana", "reason": "logout"})
    admin_client.post(f"/integrations/channels/{channel.id}/disconnect")
    assert _coffee().status == "disconnected"
    page = admin_client.get("/integrations/").get_data(as_text=True)
    assert "Meta no longer accepts this connection" in page and "Business integrations" in page


def test_diagnostics_on_a_healthy_channel(sandbox, app, admin_client):
    channel = _connect(admin_client, sandbox)
    body = _checks(admin_client, channel)
    assert body.count("check-pass") == 7 and "check-fail" not in body
    assert "No notification from Meta has arrived" in body and "/webhooks/instagram" in body
    with db.session_scope() as s:
        s.get(Channel, channel.id).last_webhook_at = utcnow()
    body = _checks(admin_client, channel)
    assert body.count("check-pass") == 8
    # Opening the page asks Meta nothing and changes nothing: the checks run on POST (htmx, on load).
    calls = len(sandbox.control("GET", "calls")["data"])
    full = admin_client.get(f"/integrations/channels/{channel.id}/diagnostics").get_data(as_text=True)
    assert "<html" in full and "Check connection: @keloa.coffee" in full and "Checking with Meta" in full
    assert len(sandbox.control("GET", "calls")["data"]) == calls
    without_js = admin_client.post(f"/integrations/channels/{channel.id}/diagnostics").get_data(as_text=True)
    assert "<html" in without_js and without_js.count("check-pass") == 8


def test_diagnostics_missing_subscription_offers_subscribe_again(sandbox, app, admin_client):
    channel = _connect(admin_client, sandbox)
    sandbox.control("POST", "pages/coffee/subscription", json={"fields": []})
    body = _checks(admin_client, channel)
    assert "Meta is not sending this Page&#39;s messages" in body and "Subscribe again" in body
    resp = admin_client.post(f"/integrations/channels/{channel.id}/subscription")
    assert resp.status_code == 302
    assert "messages" in _page(sandbox)["subscribed_fields"]
    assert "subscribed again" in admin_client.get(resp.headers["Location"]).get_data(as_text=True)


def test_diagnostics_permissions_and_page_role(sandbox, app, admin_client):
    channel = _connect(admin_client, sandbox)
    sandbox.control("POST", "users/ana/permissions", json={"declined": ["business_management"]})
    body = _checks(admin_client, channel)
    assert "Permissions granted</strong>: Keloa needs permissions" in body and "business_management" in body
    sandbox.control("POST", "users/ana/tasks", json={"page": "coffee", "tasks": ["ANALYZE", "ADVERTISE"]})
    body = _checks(admin_client, channel)
    assert "lacks Messages (MESSAGING)" in body and "Ask for admin access to the Page" in body


def test_diagnostics_dm_access_off_says_where_the_switch_is(sandbox, app, admin_client):
    channel = _connect(admin_client, sandbox)
    sandbox.control("POST", "accounts/coffee/dm_access", json={"enabled": False})
    body = _checks(admin_client, channel)
    assert "turned off access to messages" in body
    assert "Messages and story replies → Message controls → Connected tools" in body
    assert "Allow access to messages" in body


def test_page_tokens_stay_encrypted_and_out_of_pages(sandbox, app, admin_client):
    channel = _connect(admin_client, sandbox)
    token = crypto.decrypt(channel.page_token_enc)
    for url in ("/integrations/", f"/integrations/channels/{channel.id}/diagnostics",
                f"/integrations/channels/{channel.id}/disconnect"):
        assert token not in admin_client.get(url).get_data(as_text=True)


def test_diagnostics_instagram_account_personal_or_unlinked(sandbox, app, admin_client):
    channel = _connect(admin_client, sandbox)
    sandbox.control("POST", "accounts/keloa.coffee/kind", json={"kind": "personal"})
    body = _checks(admin_client, channel)
    assert "is now a personal account" in body and "Switch it back to a professional account" in body
    sandbox.control("POST", "accounts/keloa.coffee/kind", json={"kind": "business"})
    sandbox.control("POST", "accounts/keloa.coffee/unlink")
    body = _checks(admin_client, channel)
    assert "is no longer linked to Keloa Coffee" in body and "Link the Instagram account to the Page again" in body


def test_no_database_lock_is_held_while_meta_answers(sandbox, app, admin_client, monkeypatch):
    """Connect, diagnostics and disconnect call Graph from a writer request: meanwhile another
    process (webhook intake, a worker) can still take SQLite's write lock."""
    import sqlite3

    import requests

    path = app.config["DATABASE_URL"].split("///", 1)[1]
    graph = app.config["GRAPH_API_BASE"]
    free: list[tuple[str, bool]] = []
    original = requests.Session.request

    def probing(self, method, url, *args, **kwargs):
        if url.startswith(graph) and "/_sandbox/" not in url:  # Keloa calling Meta, not the test
            probe = sqlite3.connect(path, timeout=0, isolation_level=None)
            try:
                probe.execute("BEGIN IMMEDIATE")
                probe.execute("ROLLBACK")
                free.append((url[len(graph):], True))
            except sqlite3.OperationalError:  # "database is locked"
                free.append((url[len(graph):], False))
            finally:
                probe.close()
        return original(self, method, url, *args, **kwargs)

    monkeypatch.setattr(requests.Session, "request", probing)
    channel = _connect(admin_client, sandbox)
    assert admin_client.post(f"/integrations/channels/{channel.id}/diagnostics", htmx=True).status_code == 200
    admin_client.post(f"/integrations/channels/{channel.id}/disconnect")
    assert _coffee().status == "disconnected"
    assert len(free) >= 8 and all(ok for _path, ok in free), free


def test_two_admins_connecting_the_same_account_at_once_share_one_channel(sandbox, app, admin_client, monkeypatch):
    from keloa_web.integrations import channels as channel_ops

    first = _connect(admin_client, sandbox)
    # The other admin's channel is committed after our look-up found nothing: the insert collides.
    original, raced = channel_ops.existing_channel, []

    def late(session, ig_account_id):
        if not raced:
            raced.append(True)
            return None
        return original(session, ig_account_id)

    monkeypatch.setattr(channel_ops, "existing_channel", late)
    resp = factories.connect_account(admin_client, sandbox)
    assert resp.status_code == 302 and raced
    channels = db.session.scalars(select(Channel)).all()
    assert [c.id for c in channels] == [first.id] and channels[0].status == "active"


def test_a_creator_account_gets_its_webhooks_after_connect_without_import(sandbox, app, admin_client, live_server):
    """Meta sends a creator account's messages only after one Conversations API call; connecting
    (without "Import") makes it, so the customer's first DM is not lost, and diagnostics says so."""
    sandbox.control("POST", "config", json={"SANDBOX_WEBHOOK_URL": f"{live_server}/webhooks/instagram"})
    resp = factories.connect_account(admin_client, sandbox, page="books")
    assert resp.status_code == 302
    books = db.session.scalar(select(Channel).where(Channel.ig_username == "keloa.books"))
    assert books.conversations_api_at is not None and books.conversations_api_error is None
    sent = sandbox.control("POST", "customer/send", json={"account": books.ig_account_id, "customer": "maya",
                                                         "type": "text", "text": "Do you ship books?"})
    delivery = sandbox.control("GET", "deliveries")["data"]
    mine = [d for d in delivery if sent["mid"] in json.dumps(d.get("body") or {})]
    assert mine and all(d["status"] != "suppressed" for d in mine), mine
    body = _checks(admin_client, books)
    assert "Conversations API call made" in body and "Meta sends messages of creator accounts only after" in body


def test_a_refused_first_conversations_call_is_said_at_connect_and_in_diagnostics(sandbox, app, admin_client):
    sandbox.control("POST", "accounts/coffee/dm_access", json={"enabled": False})
    resp = factories.connect_account(admin_client, sandbox)
    assert resp.status_code == 302
    page = admin_client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "Meta refused Keloa&#39;s first Conversations API call" in page and "Check connection" in page
    channel = _coffee()
    assert channel.conversations_api_at is None and channel.conversations_api_error
    body = _checks(admin_client, channel)
    assert "Keloa has not yet made a Conversations API call for this account" in body
