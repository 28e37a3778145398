"""Integrations without Meta: cards, settings toggles, admin-only, deauthorize callback, backfill progress."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

from sqlalchemy import update

from keloa_web.db import db
from keloa_web.integrations.channels import mark_needs_reconnect
from keloa_web.models import Channel
from tests import factories
from tests.conftest import APP_SECRET


def _coffee(**kw) -> Channel:
    with db.session_scope() as s:
        return factories.gen_channel(s, token=None, **{
            "ig_account_id": "17841400000000101", "ig_username": "keloa.coffee", "page_id": "104000000000101",
            "page_name": "Keloa Coffee", **kw})


def _channel(cid: int) -> Channel:
    return db.session.get(Channel, cid)


def test_empty_integrations_page_explains_how_to_connect(admin_client):
    body = admin_client.get("/integrations/").get_data(as_text=True)
    assert "No Instagram account connected yet" in body and "Connect through Facebook" in body


def test_cards_show_each_channel_with_status(app, admin_client):
    _coffee()
    _coffee(ig_account_id="17841400000000102", ig_username="keloa.books", page_id="2",
                           page_name="Keloa Books", status="needs_reconnect", status_reason="Token expired.")
    body = admin_client.get("/integrations/").get_data(as_text=True)
    assert "@keloa.coffee" in body and "Page: Keloa Coffee" in body and "Active" in body
    assert "@keloa.books" in body and "Needs reconnect" in body and "Token expired." in body
    assert "Reconnect" in body and "None yet" in body


def test_agents_are_refused_with_a_message(app, agent_client):
    channel = _coffee()
    resp = agent_client.get("/integrations/")
    assert resp.status_code == 403 and "Only admins can do this" in resp.get_data(as_text=True)
    resp = agent_client.post(f"/integrations/channels/{channel.id}/settings",
                             data={"field": "ai_enabled", "ai_enabled": ["0", "1"]}, htmx=True)
    assert resp.status_code == 403 and "Only admins" in resp.get_data(as_text=True)
    assert resp.headers["HX-Retarget"] == "#flash"
    assert _channel(channel.id).ai_enabled is False


def test_settings_save_on_toggle_as_htmx_partials(app, admin_client):
    channel = _coffee()
    with db.session_scope() as s:
        agent = factories.gen_agent(s, name="Barista bot")
    url = f"/integrations/channels/{channel.id}/settings"

    resp = admin_client.post(url, data={"field": "read_receipts", "read_receipts": "0"}, htmx=True)
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "<html" not in body and "Saved" in body
    assert f'id="settings-{channel.id}"' in body
    assert f'id="summary-{channel.id}" hx-swap-oob="true"' in body  # the card's title and facts follow
    assert _channel(channel.id).read_receipts is False

    admin_client.post(url, data={"field": "ai_enabled", "ai_enabled": ["0", "1"]}, htmx=True)
    assert _channel(channel.id).ai_enabled is True
    body = admin_client.post(url, data={"field": "agent_id", "agent_id": str(agent.id)}, htmx=True).get_data(as_text=True)
    assert "Saved" in body and _channel(channel.id).agent_id == agent.id
    admin_client.post(url, data={"field": "display_name", "display_name": "  Coffee DMs "}, htmx=True)
    assert _channel(channel.id).display_name == "Coffee DMs"
    admin_client.post(url, data={"field": "agent_id", "agent_id": ""}, htmx=True)
    assert _channel(channel.id).agent_id is None

    page = admin_client.get("/integrations/").get_data(as_text=True)
    assert "Coffee DMs" in page


def test_bad_setting_values_are_refused_and_nothing_changes(app, admin_client):
    channel = _coffee(display_name="Keep me")
    url = f"/integrations/channels/{channel.id}/settings"
    resp = admin_client.post(url, data={"field": "agent_id", "agent_id": "999"}, htmx=True)
    assert resp.status_code == 400 and "no longer exists" in resp.get_data(as_text=True)
    resp = admin_client.post(url, data={"field": "display_name", "display_name": "x" * 121}, htmx=True)
    assert resp.status_code == 400 and "at most 120" in resp.get_data(as_text=True)
    assert _channel(channel.id).display_name == "Keep me"


def test_settings_work_without_javascript(app, admin_client):
    channel = _coffee()
    resp = admin_client.post(f"/integrations/channels/{channel.id}/settings",
                             data={"field": "display_name", "display_name": "Plain form"})
    assert resp.status_code == 200 and "<html" in resp.get_data(as_text=True)
    assert _channel(channel.id).display_name == "Plain form"


def _signed_request(payload: dict, secret: str = APP_SECRET) -> str:
    enc = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")
    sig = base64.urlsafe_b64encode(hmac.new(secret.encode(), enc.encode(), hashlib.sha256).digest()).decode().rstrip("=")
    return f"{sig}.{enc}"


def test_deauthorize_callback_marks_that_users_channels(app, client):
    mine = _coffee(meta_user_id="100089000000001")
    other = _coffee(ig_account_id="999", ig_username="other", page_id="9", meta_user_id="42")
    gone = _coffee(ig_account_id="998", page_id="8", meta_user_id="100089000000001",
                                  status="disconnected")
    payload = {"algorithm": "HMAC-SHA256", "issued_at": int(time.time()), "user_id": "100089000000001"}
    resp = client.post("/webhooks/meta/deauthorize", data={"signed_request": _signed_request(payload)}, csrf=False)
    assert resp.status_code == 200 and resp.get_json()["channels"] == 1
    assert _channel(mine.id).status == "needs_reconnect"
    assert "removed Keloa" in _channel(mine.id).status_reason
    assert _channel(other.id).status == "active" and _channel(gone.id).status == "disconnected"


def test_deauthorize_refuses_bad_signatures(app, client):
    channel = _coffee(meta_user_id="7")
    payload = {"algorithm": "HMAC-SHA256", "user_id": "7"}
    for signed in (_signed_request(payload, "wrong-secret"), "garbage", "",
                   _signed_request({"algorithm": "plain", "user_id": "7"})):
        resp = client.post("/webhooks/meta/deauthorize", data={"signed_request": signed}, csrf=False)
        assert resp.status_code == 400
    assert _channel(channel.id).status == "active"


def _deauthorize(client, signed: str):
    return client.post("/webhooks/meta/deauthorize", data={"signed_request": signed}, csrf=False)


def test_deauthorize_refuses_old_future_and_replayed_requests(app, client):
    channel = _coffee(meta_user_id="7")
    now = int(time.time())
    for issued_at, why in ((now - 11 * 60, "too old"), (now + 5 * 60, "from the future"), (None, "missing"),
                           ("1700000000", "not a number"), (True, "not a number")):
        payload = {"algorithm": "HMAC-SHA256", "user_id": "7", "issued_at": issued_at}
        resp = _deauthorize(client, _signed_request(payload))
        assert resp.status_code == 400, why
        assert resp.get_json()["error"].startswith("signed_request expired"), why
    assert _channel(channel.id).status == "active"

    fresh = _signed_request({"algorithm": "HMAC-SHA256", "user_id": "7", "issued_at": now - 30})
    assert _deauthorize(client, fresh).status_code == 200
    assert _channel(channel.id).status == "needs_reconnect"
    with db.session_scope() as s:  # the owner reconnects; a copy of the old request changes nothing
        s.execute(update(Channel).where(Channel.id == channel.id).values(status="active", status_reason=None))
    resp = _deauthorize(client, fresh)
    assert resp.status_code == 400 and resp.get_json() == {"error": "signed_request already used"}
    assert _channel(channel.id).status == "active"


def test_deauthorize_answers_deeply_nested_json_with_a_400(app, client):
    channel = _coffee(meta_user_id="7")
    deep = "[" * 6000 + "]" * 6000
    enc = base64.urlsafe_b64encode(deep.encode()).decode().rstrip("=")
    sig = base64.urlsafe_b64encode(hmac.new(APP_SECRET.encode(), enc.encode(), hashlib.sha256).digest()).decode()
    for signed in (f"AAAA.{enc}", f"{sig.rstrip('=')}.{enc}"):  # unsigned, then signed with the app secret
        resp = _deauthorize(client, signed)
        assert resp.status_code == 400 and resp.get_json() == {"error": "invalid signed_request"}
    huge = "[" * 200_000
    resp = _deauthorize(client, "AAAA." + base64.urlsafe_b64encode(huge.encode()).decode())
    assert resp.status_code == 400 and resp.get_json() == {"error": "invalid signed_request"}
    assert _channel(channel.id).status == "active"


def test_mark_needs_reconnect_stops_sends_and_keeps_disconnected(app):
    active = _coffee()
    off = _coffee(ig_account_id="2", page_id="2", status="disconnected")
    with db.session_scope() as s:
        assert mark_needs_reconnect(s, active.id, "Error validating access token (190)") is True
        assert mark_needs_reconnect(s, off.id, "whatever") is False
    assert _channel(active.id).can_send is False and _channel(active.id).status == "needs_reconnect"
    assert _channel(off.id).status == "disconnected"


def test_backfill_progress_polls_until_done_then_answers_286(app, admin_client):
    channel = _coffee(backfill_state="running", backfill_total=4, backfill_done=1)
    resp = admin_client.get(f"/integrations/channels/{channel.id}/backfill", htmx=True)
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "1 of 4" in body and 'hx-trigger="load delay:1s"' in body
    with db.session_scope() as s:
        s.get(Channel, channel.id).backfill_state = "done"
    resp = admin_client.get(f"/integrations/channels/{channel.id}/backfill", htmx=True)
    assert resp.status_code == 286 and "Imported 4 recent conversations" in resp.get_data(as_text=True)
    assert "hx-trigger" not in resp.get_data(as_text=True)


def test_disconnect_asks_for_confirmation_then_keeps_history(app, admin_client):
    channel = _coffee()
    confirm = admin_client.get(f"/integrations/channels/{channel.id}/disconnect").get_data(as_text=True)
    assert "Disconnect @keloa.coffee?" in confirm and "Conversations stay in the inbox" in confirm
    resp = admin_client.post(f"/integrations/channels/{channel.id}/disconnect")
    assert resp.status_code == 302
    assert _channel(channel.id).status == "disconnected" and not _channel(channel.id).can_send
    page = admin_client.get("/integrations/").get_data(as_text=True)
    assert "is disconnected" in page and "Disconnected" in page


def test_cards_and_rows_never_contradict_themselves(app, admin_client):
    """What a card or a list row says fits the channel's state: an import replaces "No messages
    yet?", a refused first Conversations API call is said on the card, a disconnected account has
    no settings to toggle and its conversations no window countdown, and "AI may reply" needs an
    agent."""
    from datetime import timedelta

    from keloa_web.models import Conversation

    with db.session_scope() as s:
        factories.gen_channel(s, display_name="Imported", backfill_state="done", backfill_total=2)
        factories.gen_channel(s, display_name="Refused", conversations_api_error="(#10) Not allowed")
        gone = factories.gen_channel(s, display_name="Gone", status="disconnected")
        no_agent = factories.gen_channel(s, display_name="NoAgent", ai_enabled=True)
        conv_gone = factories.gen_conversation(s, gone, last_customer_ago=timedelta(minutes=5))
        conv_ai = factories.gen_conversation(s, no_agent, last_customer_ago=timedelta(minutes=5))
    html = admin_client.get("/integrations/").get_data(as_text=True)

    def card(name):
        part = html[html.index(f"<h2>{name}</h2>"):]
        return " ".join(part[:part.index("</article>")].split())

    assert "No messages yet?" not in card("Imported") and "Imported 2 recent conversations" in card("Imported")
    assert "Meta refused Keloa's Conversations API call for this account ((#10) Not allowed)" in card("Refused")
    assert 'name="read_receipts"' not in card("Gone") and "settings come back when it is connected" in card("Gone")
    listing = admin_client.get("/inbox?status=all").get_data(as_text=True)
    row = listing[listing.index(f'id="conv-{conv_gone.id}"'):]
    row = row[:row.index("</a>")]
    assert "Disconnected" in row and "Window open" not in row
    thread = admin_client.get(f"/inbox/c/{conv_ai.id}").get_data(as_text=True)
    assert "Reply window open" in thread and "AI may reply" not in thread
    assert db.session.get(Conversation, conv_ai.id) is not None
