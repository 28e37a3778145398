"""A failing event never holds back the others; after its last try admins see it and retry it."""
from __future__ import annotations

from sqlalchemy import select, update

from keloa_web.db import db
from keloa_web.models import Message, WebhookEvent
from keloa_web.webhooks import ingest
from tests import helpers
from tests.receive.util import body, channel, count, messaging, post

BIZ = "17841400000000333"


def _edit_without_sender(mid: str) -> dict:
    # An edit of a message Keloa never saw, and no sender to attach it to: it cannot be applied yet.
    return {"object": "instagram", "entry": [{"id": BIZ, "time": 1, "messaging": [
        {"timestamp": 1_760_000_000_500, "message_edit": {"mid": mid, "text": "<b>edited</b>", "num_edit": 1}}]}]}


def test_a_poison_event_is_isolated_retried_then_failed_and_retryable(app, client, admin_client, agent_client, settings):
    channel(BIZ)
    post(client, body(BIZ, messaging("c1", BIZ, 1_760_000_000_000, message={"mid": "a", "text": "first"})))
    post(client, _edit_without_sender("later"))
    post(client, body(BIZ, messaging("c1", BIZ, 1_760_000_001_000, message={"mid": "b", "text": "second"})))
    helpers.run_worker_burst(settings)
    assert count(Message) == 2  # both good events applied in the same batch as the bad one
    db.session.rollback()
    bad = db.session.scalar(select(WebhookEvent).where(WebhookEvent.status == "pending"))
    assert bad.attempts == 1 and "has not received" in bad.error and bad.next_attempt_at is not None

    for _ in range(ingest.MAX_ATTEMPTS):  # back-off elapsed each time
        with db.session_scope() as s:
            s.execute(update(WebhookEvent).values(next_attempt_at=None).where(WebhookEvent.status == "pending"))
        ingest.drain_batch()
    db.session.rollback()
    assert db.session.get(WebhookEvent, bad.id).status == "failed"

    page = admin_client.get("/admin/events/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "1 failed" in html and "has not received" in html
    assert "&lt;b&gt;edited&lt;/b&gt;" in html and "<b>edited</b>" not in html  # the body is shown escaped
    assert agent_client.get("/admin/events/").status_code == 403

    # The message arrives after all (with a sender this time), then the admin retries the edit.
    post(client, body(BIZ, messaging("c1", BIZ, 1_760_000_000_400, message={"mid": "later", "text": "original"})))
    helpers.run_worker_burst(settings)
    resp = admin_client.post(f"/admin/events/{bad.id}/retry", htmx=True)
    assert resp.status_code == 200 and "queued again" in resp.get_data(as_text=True) and "<html" not in resp.get_data(as_text=True)
    helpers.run_worker_burst(settings)
    db.session.rollback()
    assert db.session.get(WebhookEvent, bad.id).status == "done"
    edited = db.session.scalar(select(Message).where(Message.mid == "later"))
    assert (edited.text, edited.edit_count) == ("<b>edited</b>", 1)
    assert "No failed events" in admin_client.get("/admin/events/").get_data(as_text=True)


def test_messenger_events_for_a_connected_page_are_ignored_visibly(app, client, admin_client, settings):
    """A Page linked to an Instagram account also has a Facebook Messenger inbox; its events
    (object "page", ids of the Page) are kept and listed as ignored, never an Instagram conversation."""
    channel(BIZ, page_id="1040000000001")
    messenger = {"object": "page", "entry": [{"id": "1040000000001", "time": 1, "messaging": [
        {"sender": {"id": "2400000000001"}, "recipient": {"id": "1040000000001"}, "timestamp": 1_760_000_000_000,
         "message": {"mid": "m_messenger", "text": "Hello from Facebook"}}]}]}
    assert post(client, messenger).status_code == 200
    helpers.run_worker_burst(settings)
    assert count(Message) == 0
    db.session.rollback()
    event = db.session.scalar(select(WebhookEvent))
    assert event.status == "ignored" and "Facebook Messenger" in event.error
    html = admin_client.get("/admin/events/").get_data(as_text=True)
    assert "Recently ignored" in html and "a Facebook Messenger event (object &#34;page&#34;) for the Page of @keloa.coffee" in html
    assert "Hello from Facebook" in html  # the body is there to read, escaped
