"""Connecting with Instagram Login through the Meta sandbox: an account without a Facebook Page, its
token exchanged and renewed, its calls on graph.instagram.com, its webhooks signed with the
Instagram app's secret, and the same account connected both ways as one channel."""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from datetime import timedelta

from sqlalchemy import select

from keloa_web import crypto
from keloa_web.db import db, utcnow
from keloa_web.integrations import tokens
from keloa_web.models import Channel, Message, Reaction
from tests import factories, helpers
from tests.conftest import IG_APP_SECRET


def _channel(username: str = "keloa.studio") -> Channel | None:
    db.session.rollback()
    return db.session.scalar(select(Channel).where(Channel.ig_username == username))


def _account(sandbox, key: str = "studio") -> dict:
    return next(a for a in sandbox.state()["accounts"] if a["key"] == key)


def test_an_account_without_a_page_connects_with_instagram(sandbox, app, admin_client, caplog):
    caplog.set_level(logging.DEBUG)
    resp = factories.connect_with_instagram(admin_client, sandbox)
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/integrations/")
    channel = _channel()
    assert (channel.login, channel.page_id, channel.status) == ("instagram", "", "active")
    assert channel.ig_account_id == "17841400000000106"  # /me's user_id: the id webhooks carry
    assert channel.meta_user_id == "27841400000000106"  # /me's id: the app-scoped id of the person
    assert channel.token_scopes == "instagram_business_basic,instagram_business_manage_messages"
    token = crypto.decrypt(channel.page_token_enc)
    assert token.startswith("IGAA") and token not in channel.page_token_enc
    life = channel.token_expires_at - channel.token_issued_at
    assert timedelta(days=59) < life < timedelta(days=61)  # the long-lived token, not the 1-hour one
    assert channel.conversations_api_at is not None  # the first Conversations API call was made
    account = _account(sandbox)
    assert account["ig_subscribed_fields"] == ["messages", "message_reactions", "messaging_postbacks",
                                               "messaging_referral", "messaging_seen", "message_edit"]
    # The long-lived exchange and every later call went to graph.instagram.com, never graph.facebook.com.
    paths = [c["path"] for c in sandbox.control("GET", "calls")["data"]]
    assert "/instagram/graph/access_token" in paths and "/instagram/graph/v25.0/me/subscribed_apps" in paths
    assert not [p for p in paths if p.startswith("/v25.0/")]

    page = admin_client.get("/integrations/").get_data(as_text=True)
    assert "@keloa.studio is connected with Instagram Login" in page
    assert "Instagram Login (no Facebook Page)" in page and "Renewed by Keloa every week; valid until" in page
    assert token not in page and token not in caplog.text


def test_cancel_a_declined_permission_and_a_reused_code_are_said_on_integrations(sandbox, app, admin_client):
    resp = admin_client.get(factories.instagram_dialog(admin_client, sandbox, cancel=True))
    assert resp.status_code == 302
    page = admin_client.get("/integrations/").get_data(as_text=True)
    assert "You cancelled the Instagram log-in, so nothing was connected." in page

    resp = admin_client.get(factories.instagram_dialog(admin_client, sandbox,
                                                       decline=("instagram_business_manage_messages",)))
    page = admin_client.get("/integrations/").get_data(as_text=True)
    assert "Instagram did not grant instagram_business_manage_messages" in page
    assert "leave every permission ticked" in page and _channel() is None

    callback = factories.instagram_dialog(admin_client, sandbox)
    admin_client.get(callback)
    assert _channel() is not None
    admin_client.get(callback)  # the same redirect again (a reload): state and code were used once
    page = admin_client.get("/integrations/").get_data(as_text=True)
    assert "This log-in link was already used or has expired, so it was ignored." in page


def test_the_same_account_connected_both_ways_is_one_channel(sandbox, app, admin_client):
    factories.connect_account(admin_client, sandbox, page="coffee")
    first = _channel("keloa.coffee")
    assert first.login == "facebook" and first.page_name == "Keloa Coffee"
    resp = factories.connect_with_instagram(admin_client, sandbox, account="coffee")
    assert resp.status_code == 302
    db.session.rollback()
    assert db.session.scalars(select(Channel)).all() == [first]
    again = _channel("keloa.coffee")
    assert (again.id, again.login, again.page_id) == (first.id, "instagram", "")
    page = admin_client.get("/integrations/").get_data(as_text=True)
    assert ("@keloa.coffee is reconnected with Instagram Login (it was connected through its Facebook Page "
            "Keloa Coffee; its conversations and settings stay)") in page
    # The Page no longer sends its messages to the Facebook app: the account's own subscription does.
    state = sandbox.state()
    assert next(p for p in state["pages"] if p["key"] == "coffee")["subscribed_fields"] == []
    assert next(a for a in state["accounts"] if a["key"] == "coffee")["ig_subscribed_fields"]
    # and back through the Page: still the one channel, on graph.facebook.com again
    factories.connect_account(admin_client, sandbox, page="coffee")
    db.session.rollback()
    assert [(c.id, c.login) for c in db.session.scalars(select(Channel))] == [(first.id, "facebook")]
    assert next(a for a in sandbox.state()["accounts"] if a["key"] == "coffee")["ig_subscribed_fields"] == []


def test_switching_logins_says_when_the_old_subscription_could_not_be_removed(sandbox, app, admin_client):
    factories.connect_account(admin_client, sandbox, page="coffee")
    sandbox.control("POST", "tokens/revoke", json={"page": "coffee", "reason": "password"})  # its Page token dies
    factories.connect_with_instagram(admin_client, sandbox, account="coffee")
    page = admin_client.get("/integrations/").get_data(as_text=True)
    assert "@keloa.coffee is reconnected with Instagram Login" in page
    assert "Keloa could not stop the notifications of the connection through Facebook Page Keloa Coffee" in page
    assert "Keloa keeps each message once" in page
    assert _channel("keloa.coffee").login == "instagram"


def _deliveries(sandbox) -> list[dict]:
    return [d for d in sandbox.control("GET", "deliveries")["data"] if d["status"] == "delivered"]


def test_the_whole_conversation_on_an_instagram_login_channel(sandbox, app, live_server, settings, admin_client):
    """Connect, receive every event kind, reply, receipts, an AI reply, disconnect."""
    settings["AI_REPLY_DELAY_SECONDS"] = "0"
    sandbox.control("POST", "config", json={"SANDBOX_WEBHOOK_URL": f"{live_server}/webhooks/instagram"})
    factories.connect_with_instagram(admin_client, sandbox)
    channel = _channel()
    worker = helpers.start_worker(settings)
    try:
        def send(kind, customer="maya", **kw):
            return sandbox.control("POST", "customer/send", json={"account": "keloa.studio", "customer": customer,
                                                                 "type": kind, **kw})

        def message(mid):
            db.session.rollback()
            return db.session.scalar(select(Message).where(Message.mid == mid))

        text = send("text", text="Do you do logo design?")
        image, audio, video = send("image"), send("audio"), send("video")
        story = send("story_reply", text="Love this one")
        for sent in (text, image, audio, video, story):
            helpers.wait_until(lambda: message(sent["mid"]), timeout=20, message=f"{sent['mid']} stored")
        assert message(text["mid"]).channel_id == channel.id
        # Meta (the sandbox) signed these with the Instagram app's secret, and Keloa took them.
        assert {d["app"] for d in _deliveries(sandbox)} == {"instagram"}
        send("react", mid=text["mid"], reaction="love")
        send("seen", mid=text["mid"])
        send("edit", mid=text["mid"], text="Do you do logo design and flyers?")

        def reacted_and_edited():
            db.session.rollback()
            reaction = db.session.scalar(select(Reaction).where(Reaction.mid == text["mid"]))
            return reaction and message(text["mid"]).text == "Do you do logo design and flyers?"
        helpers.wait_until(reacted_and_edited, timeout=20, message="the reaction and the edit")
        send("unsend", mid=image["mid"])
        helpers.wait_until(lambda: message(image["mid"]).deleted, timeout=20, message="the unsend")
        conv_id = message(text["mid"]).conversation_id

        # A teammate opens it (read receipt) and replies: both go to graph.instagram.com as the account.
        admin_client.get(f"/inbox/c/{conv_id}")
        admin_client.post(f"/inbox/c/{conv_id}/messages", data={"text": "Yes, both! Send me your brief."})

        def sent_to_maya(customer="maya", **want):
            return [r for r in sandbox.control("GET", "sent")["data"] if r["account_username"] == "keloa.studio"
                    and r["customer"] == customer and all(r.get(k) == v for k, v in want.items())]

        helpers.wait_until(lambda: sent_to_maya(sender_action="mark_seen"), timeout=20, message="the read receipt")
        reply = helpers.wait_until(lambda: sent_to_maya(text="Yes, both! Send me your brief."), timeout=20,
                                   message="the reply at the sandbox")
        assert reply[0]["messaging_type"] == "RESPONSE" and not reply[0]["tag"]
        assert any(c["path"] == "/instagram/graph/v25.0/me/messages" and c["status"] == 200
                   for c in sandbox.control("GET", "calls")["data"])

        # The channel's AI agent answers another customer's question, through the same API.
        with db.session_scope() as s:
            agent = factories.gen_agent(s, name="Studio helper")
            factories.gen_entry(s, agent, "Prices", "A logo starts at 300 euros, flyers at 80.")
            row = s.get(Channel, channel.id)
            row.agent_id, row.ai_enabled = agent.id, True
        time.sleep(2.1)  # the worker's look at "does this channel answer?" lasts 2 s (agents/jobs.py)
        send("text", customer="leo", text="What are your prices for a logo?")
        helpers.wait_until(lambda: sent_to_maya("leo", text="A logo starts at 300 euros, flyers at 80."), timeout=30,
                           message="the AI's reply at the sandbox")

        # Disconnect removes the account's webhook subscription at Instagram.
        admin_client.post(f"/integrations/channels/{channel.id}/disconnect")
        assert _account(sandbox)["ig_subscribed_fields"] == []
        assert _channel().status == "disconnected" and _channel().page_token_enc is None
        page = admin_client.get("/integrations/").get_data(as_text=True)
        assert 'choose "Connect with Instagram" and log in as @keloa.studio' in page
    finally:
        helpers.stop_process(worker)


def test_webhooks_signed_with_either_apps_secret_are_taken_and_others_refused(app, client):
    body = json.dumps({"object": "instagram", "entry": []}).encode()

    def post(secret):
        sig = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        return client.post("/webhooks/instagram", data=body, headers={"X-Hub-Signature-256": sig,
                                                                      "Content-Type": "application/json"})

    assert post(IG_APP_SECRET).status_code == 200
    assert post(app.config["META_APP_SECRET"]).status_code == 200
    resp = post("someone-else's-secret")
    assert resp.status_code == 403 and resp.get_data(as_text=True) == "Invalid signature."


def _later(monkeypatch, days: float):
    """Keloa's clock `days` ahead (the sandbox's is moved with /_sandbox/clock)."""
    ahead = utcnow() + timedelta(days=days)
    monkeypatch.setattr(tokens, "utcnow", lambda: ahead)
    return ahead


def test_a_token_renews_itself_a_week_on_and_a_failing_renewal_asks_for_a_reconnect(sandbox, app, admin_client,
                                                                                   monkeypatch):
    factories.connect_with_instagram(admin_client, sandbox)
    channel = _channel()
    old_token, old_expiry = crypto.decrypt(channel.page_token_enc), channel.token_expires_at
    assert tokens.due() == []  # a fresh token: nothing to do (Meta refuses under 24 hours anyway)

    sandbox.control("POST", "clock", json={"advance_days": 8})
    now = _later(monkeypatch, 8)
    assert tokens.due(now) == [channel.id]
    tokens.refresh_tokens()
    channel = _channel()
    assert crypto.decrypt(channel.page_token_enc) != old_token
    assert channel.token_issued_at == now and channel.token_expires_at > old_expiry + timedelta(days=7)
    assert (channel.token_refresh_failures, channel.token_refresh_error) == (0, None)
    assert any(c["path"] == "/instagram/graph/refresh_access_token" and c["status"] == 200
               for c in sandbox.control("GET", "calls")["data"])
    # the renewed token works: the channel's calls still pass
    assert tokens.due(now) == []

    # Meta is down for a day (500s): each hour tried again, the card says so, and the outage alone
    # does not switch off a channel whose token still has weeks to live.
    sandbox.control("POST", "faults", json={"ig_refresh_fails": True})
    sandbox.control("POST", "clock", json={"advance_days": 8})
    _later(monkeypatch, 16)
    for _hour in range(tokens.GIVE_UP + 2):
        assert tokens.refresh_channel(channel.id) == "failed"
    channel = _channel()
    assert channel.status == "active" and channel.token_refresh_failures == 0
    assert "An unexpected error has occurred" in channel.token_refresh_error
    page = admin_client.get("/integrations/").get_data(as_text=True)
    assert "Not renewed (An unexpected error has occurred" in page

    # Meta refuses this token's renewal: counted, and after GIVE_UP refusals in a row the channel
    # needs a reconnect although the token has weeks left.
    sandbox.control("POST", "faults", json={"ig_refresh_fails": False, "ig_refresh_refused": True})
    for _hour in range(tokens.GIVE_UP - 1):
        assert tokens.refresh_channel(channel.id) == "failed"
    assert _channel().status == "active" and _channel().token_refresh_failures == tokens.GIVE_UP - 1
    assert tokens.refresh_channel(channel.id) == "needs_reconnect"
    channel = _channel()
    assert channel.status == "needs_reconnect" and "24 tries, the last: (#100) This access token cannot be " \
        "refreshed" in channel.status_reason
    page = admin_client.get("/integrations/").get_data(as_text=True)
    assert "Needs reconnect" in page and "log in with Instagram again as @keloa.studio" in page

    # Keloa keeps trying until the token dies: once Meta renews it, the channel is active again.
    sandbox.control("POST", "faults", json={"ig_refresh_refused": False})
    assert tokens.due(_later(monkeypatch, 16)) == [channel.id]
    tokens.refresh_tokens()
    channel = _channel()
    assert channel.status == "active" and channel.status_reason is None and channel.token_refresh_failures == 0


def test_a_token_that_cannot_be_renewed_in_time_asks_for_a_reconnect_days_before_it_dies(sandbox, app,
                                                                                         admin_client, monkeypatch):
    factories.connect_with_instagram(admin_client, sandbox)
    channel = _channel()
    sandbox.control("POST", "faults", json={"ig_refresh_fails": True})  # Meta down for weeks
    sandbox.control("POST", "clock", json={"advance_days": 8})
    _later(monkeypatch, 8)
    assert tokens.refresh_channel(channel.id) == "failed"
    expiry = _channel().token_expires_at
    monkeypatch.setattr(tokens, "utcnow", lambda: expiry - timedelta(days=6))
    assert tokens.refresh_channel(channel.id) == "needs_reconnect"
    channel = _channel()
    assert channel.status == "needs_reconnect"
    assert f"It expires on {expiry:%Y-%m-%d}: reconnect with Instagram before then" in channel.status_reason
    assert tokens.due(expiry - timedelta(days=6)) == [channel.id]  # still tried, every hour
    assert tokens.due(expiry + timedelta(hours=1)) == []  # not once it has expired


def test_a_channel_that_changes_while_its_token_is_renewed_keeps_its_change(sandbox, app, admin_client,
                                                                            monkeypatch):
    """Renewal calls Meta outside any transaction: a disconnect meanwhile is not undone by its answer."""
    factories.connect_with_instagram(admin_client, sandbox)
    channel = _channel()
    sandbox.control("POST", "clock", json={"advance_days": 8})
    _later(monkeypatch, 8)
    from keloa_web.graph import GraphClient

    real = GraphClient.token_endpoint

    def disconnect_meanwhile(self, path, params):
        answer = real(self, path, params)
        resp = admin_client.post(f"/integrations/channels/{channel.id}/disconnect")
        assert resp.status_code == 302
        return answer

    monkeypatch.setattr(GraphClient, "token_endpoint", disconnect_meanwhile)
    assert tokens.refresh_channel(channel.id) == "skipped"
    channel = _channel()
    assert channel.status == "disconnected" and channel.page_token_enc is None


def test_a_token_this_secret_key_cannot_read_asks_for_a_reconnect(sandbox, app, admin_client, monkeypatch):
    factories.connect_with_instagram(admin_client, sandbox)
    channel = _channel()
    monkeypatch.setattr(tokens.crypto, "decrypt", lambda sealed: None)  # as after a SECRET_KEY change
    assert tokens.refresh_channel(channel.id) == "needs_reconnect"
    assert "cannot read this account's stored access token" in _channel().status_reason


def test_a_revoked_token_asks_for_a_reconnect_at_once(sandbox, app, admin_client, monkeypatch):
    factories.connect_with_instagram(admin_client, sandbox)
    channel = _channel()
    sandbox.control("POST", "tokens/revoke", json={"account": "studio", "reason": "password"})
    sandbox.control("POST", "clock", json={"advance_days": 8})
    _later(monkeypatch, 8)
    assert tokens.refresh_channel(channel.id) == "needs_reconnect"
    channel = _channel()
    assert channel.status == "needs_reconnect" and channel.token_refresh_failures == 0
    assert "Meta no longer accepts this connection's access token" in channel.status_reason


def test_check_connection_of_an_instagram_login_channel(sandbox, app, admin_client, live_server):
    sandbox.control("POST", "config", json={"SANDBOX_WEBHOOK_URL": f"{live_server}/webhooks/instagram"})
    factories.connect_with_instagram(admin_client, sandbox)
    channel = _channel()
    html = admin_client.post(f"/integrations/channels/{channel.id}/diagnostics").get_data(as_text=True)
    for name in ("Access token valid", "Access token renews itself", "Permissions granted",
                 "Account subscribed to message notifications", "Messages arriving", "Access to messages allowed",
                 "Conversations API call made"):
        assert name in html, name
    assert "Keloa renews it from" in html and "instagram_business_manage_messages" in html
    assert "Meta sends @keloa.studio&#39;s messages to Keloa." in html
    # The owner turns off "Allow access to messages": the check says where to turn it on again.
    sandbox.control("POST", "accounts/studio/dm_access", json={"enabled": False})
    html = admin_client.post(f"/integrations/channels/{channel.id}/diagnostics").get_data(as_text=True)
    assert "has turned off access to messages" in html


def test_without_instagram_settings_the_button_is_not_offered(app, admin_client):
    app.config["INSTAGRAM_APP_ID"] = ""
    page = admin_client.get("/integrations/").get_data(as_text=True)
    assert "Connect with Instagram" not in page and "Connect through Facebook" in page
    # A Reconnect button of an Instagram Login channel leads to a clear message, not a dead end.
    resp = admin_client.post("/integrations/instagram/login")
    assert resp.status_code == 302
    page = admin_client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "Instagram Login is not set up on this Keloa: the operator sets INSTAGRAM_APP_ID" in page


def test_without_facebook_settings_its_routes_say_so(app, admin_client):
    app.config["META_APP_SECRET"] = ""
    page = admin_client.get("/integrations/").get_data(as_text=True)
    assert "Connect through Facebook" not in page and "Connect with Instagram" in page
    for method, path in (("post", "/integrations/meta/login"), ("get", "/integrations/meta/callback?code=x")):
        resp = getattr(admin_client, method)(path)
        assert resp.status_code == 302
        page = admin_client.get(resp.headers["Location"]).get_data(as_text=True)
        assert "Facebook Login is not set up on this Keloa: the operator sets META_APP_ID" in page
