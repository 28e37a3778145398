"""An edit or unsend changes only its sender's own message: a customer never rewrites or removes
the team's replies or another customer's messages, whatever a signed event names."""
from __future__ import annotations

from sqlalchemy import select

from keloa_web.db import db
from keloa_web.models import Message, WebhookEvent
from tests import helpers
from tests.receive.util import body, channel, messaging, post

BIZ = "17841400000000888"
T = 1_760_000_000_000


def _msg(mid: str) -> Message:
    db.session.rollback()
    return db.session.scalar(select(Message).where(Message.mid == mid))


def test_a_customer_cannot_edit_or_unsend_the_teams_replies_or_others_messages(app, client, settings):
    channel(BIZ)
    post(client, body(BIZ, messaging("maya", BIZ, T, message={"mid": "maya-1", "text": "Hi"})))
    post(client, body(BIZ, messaging("zoe", BIZ, T + 1, message={"mid": "zoe-1", "text": "Hello there"})))
    # the business's reply to Maya, as its echo
    post(client, body(BIZ, messaging(BIZ, "maya", T + 2, message={"mid": "biz-1", "text": "We open at 9",
                                                                  "is_echo": True})))
    helpers.run_worker_burst(settings)
    post(client, body(BIZ, messaging("maya", BIZ, T + 3, message_edit={"mid": "biz-1", "num_edit": 1,
                                                                       "text": "Refund of $5000 approved"})))
    post(client, body(BIZ, messaging("maya", BIZ, T + 4, message={"mid": "biz-1", "is_deleted": True})))
    post(client, body(BIZ, messaging("maya", BIZ, T + 5, message_edit={"mid": "zoe-1", "num_edit": 1,
                                                                       "text": "written by maya"})))
    post(client, body(BIZ, messaging("maya", BIZ, T + 6, message={"mid": "zoe-1", "is_deleted": True})))
    # her own message she may edit
    post(client, body(BIZ, messaging("maya", BIZ, T + 7, message_edit={"mid": "maya-1", "num_edit": 1,
                                                                       "text": "Hi!"})))
    helpers.run_worker_burst(settings)
    biz, zoe, maya = _msg("biz-1"), _msg("zoe-1"), _msg("maya-1")
    assert (biz.text, biz.deleted, biz.edit_count) == ("We open at 9", False, 0)
    assert (zoe.text, zoe.deleted, zoe.edit_count) == ("Hello there", False, 0)
    assert (maya.text, maya.edit_count) == ("Hi!", 1)
    notes = " ".join(e.error or "" for e in db.session.scalars(select(WebhookEvent)))
    assert "Ignored an edit of message biz-1: the message is not the sender's" in notes
    assert "Ignored an unsend of message zoe-1: the message belongs to another conversation" in notes


def test_a_message_and_its_edit_in_one_delivery_apply_together(app, client, settings):
    """The edit saw the new row's edit_count still None and raised, so every such batch was
    retried one event at a time."""
    channel(BIZ)
    payload = body(BIZ, messaging("maya", BIZ, T, message={"mid": "m1", "text": "Two lattes"}),
                   messaging("maya", BIZ, T + 1, message_edit={"mid": "m1", "num_edit": 1, "text": "Three lattes"}))
    post(client, payload)
    from keloa_web.webhooks import ingest

    calls = []
    original = ingest._apply_all
    ingest._apply_all = lambda session, events, isolate: calls.append(isolate) or original(session, events, isolate)
    try:
        ingest.drain_batch()
    finally:
        ingest._apply_all = original
    m = _msg("m1")
    assert (m.text, m.edit_count) == ("Three lattes", 1) and m.edited_at is not None
    assert calls == [False]  # the fast path held: no retry one by one
