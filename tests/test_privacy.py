"""Meta's data deletion callback, its public status page, and an admin's "Delete this contact's data"."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

from sqlalchemy import func, select

from keloa_web.db import db
from keloa_web.media import storage
from keloa_web.models import Attachment, Channel, Contact, Conversation, Message, Reaction, WebhookEvent
from tests import factories, helpers
from tests.conftest import APP_SECRET
from tests.receive.util import body, channel, messaging, post

BIZ = "17841400000000999"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _signed(payload: dict, secret: str = APP_SECRET) -> str:
    raw = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=")
    sig = base64.urlsafe_b64encode(hmac.new(secret.encode(), raw, hashlib.sha256).digest()).rstrip(b"=")
    return f"{sig.decode()}.{raw.decode()}"


def _customer_with_history(client, settings) -> Conversation:
    channel(BIZ)
    post(client, body(BIZ, messaging("maya", BIZ, 1_760_000_000_000, message={"mid": "m1", "text": "My address is 5 Elm St"})))
    post(client, body(BIZ, messaging("zoe", BIZ, 1_760_000_000_001, message={"mid": "z1", "text": "Hello"})))
    helpers.run_worker_burst(settings)
    conv = db.session.scalar(select(Conversation).join(Contact).where(Contact.igsid == "maya"))
    msg = db.session.scalar(select(Message).where(Message.mid == "m1"))
    path = storage.save(PNG, "image/png")
    db.session.add(Attachment(message_id=msg.id, type="image", status="stored", local_path=path, content_type="image/png"))
    factories.gen_reaction(db.session, msg, "maya")
    conv.contact.name, conv.contact.follower_count = "Maya Lopez", 1234
    db.session.commit()
    return conv


def test_an_admin_deletes_a_contacts_data_and_the_conversation_keeps_a_tombstone(app, client, admin_client, settings):
    conv = _customer_with_history(client, settings)
    path = storage.resolve(db.session.scalar(select(Attachment.local_path)))
    # without the confirmation box ticked: nothing happens, and the panel says why
    resp = admin_client.post(f"/inbox/c/{conv.id}/erase", data={}, htmx=True)
    assert resp.status_code == 422 and "Tick “Yes, delete it” first" in resp.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Message)) == 2
    resp = admin_client.post(f"/inbox/c/{conv.id}/erase", data={"confirm": "1"}, htmx=True)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "This customer&#39;s data was deleted by Olivia Owner" in html
    assert "My address is 5 Elm St" not in html and "Maya Lopez" not in html
    db.session.rollback()
    msgs = db.session.scalars(select(Message).where(Message.conversation_id == conv.id)).all()
    assert [(m.direction, m.extra) for m in msgs] == [("note", {"erased": True})]
    contact = db.session.get(Contact, conv.contact_id)
    assert (contact.name, contact.username, contact.follower_count, contact.igsid) == (None, None, None, "maya")
    assert not path.exists() and db.session.scalar(select(func.count()).select_from(Reaction)) == 0
    bodies = [e.body for e in db.session.scalars(select(WebhookEvent))]
    assert bodies and not any(b"maya" in b for b in bodies)  # zoe's delivery stays
    assert db.session.scalar(select(Message.text).where(Message.mid == "z1")) == "Hello"


def test_agents_cannot_delete_a_contacts_data(app, client, agent_client, settings):
    conv = _customer_with_history(client, settings)
    resp = agent_client.post(f"/inbox/c/{conv.id}/erase", data={"confirm": "1"}, htmx=True)
    assert resp.status_code == 403
    assert "Delete this contact" not in agent_client.get(f"/inbox/c/{conv.id}").get_data(as_text=True)


def test_metas_data_deletion_callback_deletes_and_links_a_public_status_page(app, client, settings):
    with db.session_scope() as s:
        ch = factories.gen_channel(s, meta_user_id="10008900001", meta_user_token_enc="enc")
    signed = _signed({"algorithm": "HMAC-SHA256", "issued_at": int(time.time()), "user_id": "10008900001"})
    resp = client.post("/webhooks/meta/data-deletion", data={"signed_request": signed}, csrf=False)
    assert resp.status_code == 200
    answer = resp.get_json()
    code = answer["confirmation_code"]
    assert answer["url"] == f"{app.config['PUBLIC_BASE_URL']}/data-deletion/{code}"
    db.session.rollback()
    channel_row = db.session.get(Channel, ch.id)
    assert (channel_row.meta_user_id, channel_row.meta_user_token_enc, channel_row.status) == (None, None, "needs_reconnect")
    page = helpers.Client(app).get(f"/data-deletion/{code}")  # anyone with the link, signed out
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and code in text and "Completed" in text and "connect 1 account" in text
    # the same request again, a stale one, a forged one: refused, nothing more recorded
    assert client.post("/webhooks/meta/data-deletion", data={"signed_request": signed}, csrf=False).status_code == 400
    stale = _signed({"algorithm": "HMAC-SHA256", "issued_at": int(time.time()) - 3600, "user_id": "1"})
    assert client.post("/webhooks/meta/data-deletion", data={"signed_request": stale}, csrf=False).status_code == 400
    forged = _signed({"algorithm": "HMAC-SHA256", "issued_at": int(time.time()), "user_id": "1"}, secret="x")
    assert client.post("/webhooks/meta/data-deletion", data={"signed_request": forged}, csrf=False).status_code == 400
    assert helpers.Client(app).get("/data-deletion/nope").status_code == 404


def test_a_data_deletion_that_fails_is_applied_when_meta_retries_it(app, client, settings, monkeypatch):
    from keloa_web.privacy import views as privacy_views

    with db.session_scope() as s:
        ch = factories.gen_channel(s, meta_user_id="10008900002", meta_user_token_enc="enc")
    signed = _signed({"algorithm": "HMAC-SHA256", "issued_at": int(time.time()), "user_id": "10008900002"})
    real = privacy_views.erase_meta_user

    def broken(session, user_id):
        raise RuntimeError("database went away")

    monkeypatch.setattr(privacy_views, "erase_meta_user", broken)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    assert client.post("/webhooks/meta/data-deletion", data={"signed_request": signed}, csrf=False).status_code == 500
    monkeypatch.setattr(privacy_views, "erase_meta_user", real)
    retry = client.post("/webhooks/meta/data-deletion", data={"signed_request": signed}, csrf=False)
    assert retry.status_code == 200 and retry.get_json()["confirmation_code"]  # not refused as a replay
    db.session.rollback()
    assert db.session.get(Channel, ch.id).meta_user_id is None
