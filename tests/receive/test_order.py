"""Events applied in any order converge: the same rows whether Meta's deliveries come in order or reversed."""
from __future__ import annotations

from sqlalchemy import select

from keloa_web.db import db
from keloa_web.models import Channel, Conversation, Message, Reaction
from tests import helpers
from tests.receive.util import body, channel, messaging, post

T = 1_760_000_000_000


def _events(biz: str) -> list[dict]:
    c = "9100000000000001"
    return [
        messaging(c, biz, T, message={"mid": "m1", "text": "helo"}),
        messaging(c, biz, T + 1000, message={"mid": "m2", "text": "oops"}),
        messaging(biz, c, T + 2000, message={"mid": "e1", "text": "Hi! How can we help?", "is_echo": True}),
        {"timestamp": T + 2500, "read": {"mid": "e1"}},
        messaging(c, biz, T + 3000, message_edit={"mid": "m1", "text": "hello", "num_edit": 1}),
        messaging(c, biz, T + 3500, message={"mid": "m2", "is_deleted": True}),
        messaging(c, biz, T + 4000, reaction={"mid": "e1", "action": "react", "reaction": "love", "emoji": "❤️"}),
        messaging(c, biz, T + 5000, reaction={"mid": "e1", "action": "unreact"}),
        messaging(c, biz, T + 6000, message_edit={"mid": "m1", "text": "hello!", "num_edit": 2}),
    ]


def _state(biz: str):
    db.session.rollback()
    ch = db.session.scalar(select(Channel).where(Channel.ig_account_id == biz))
    conv = db.session.scalar(select(Conversation).where(Conversation.channel_id == ch.id))
    msgs = sorted((m.mid, m.kind, m.text, m.deleted, m.edit_count, m.sent_at, m.direction, m.author_type)
                  for m in db.session.scalars(select(Message).where(Message.channel_id == ch.id)))
    reactions = sorted((r.mid, r.active) for r in db.session.scalars(select(Reaction).where(Reaction.channel_id == ch.id)))
    return msgs, reactions, (conv.unread_count, conv.last_customer_message_at, conv.customer_seen_at,
                             conv.last_message_preview, conv.last_activity_at, conv.status)


def test_in_order_and_reversed_deliveries_converge(app, client, settings):
    channel("17841400000000001")
    channel("17841400000000002")
    for event in _events("17841400000000001"):
        post(client, body("17841400000000001", event))
    for event in reversed(_events("17841400000000002")):
        post(client, body("17841400000000002", event))
    helpers.run_worker_burst(settings)
    in_order, reversed_ = _state("17841400000000001"), _state("17841400000000002")
    assert in_order == reversed_
    msgs, reactions, conv = in_order
    assert [(m[0], m[2], m[3], m[4]) for m in msgs] == [
        ("e1", "Hi! How can we help?", False, 0), ("m1", "hello!", False, 2), ("m2", None, True, 0)]
    assert reactions == [("e1", False)]
    unread, last_customer, seen, preview, last_activity, status = conv
    assert unread == 2 and seen == msgs[0][5] and preview == "Hi! How can we help?" and status == "open"
