"""Every payload in tests/fixtures/meta_samples (copied from Meta captures and docs) through the signed endpoint into a real worker."""
from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from keloa_web.db import db
from keloa_web.models import (
    Attachment, Contact, Conversation, Message, PendingRead, Reaction, WebhookEvent,
)
from tests import helpers
from tests.receive.util import SAMPLES, channel, count, post, sample


@pytest.fixture()
def settings(settings):
    # Nothing outside loopback is reached in tests: Meta's real CDN links are refused by host.
    settings["META_CDN_HOSTS"] = "127.0.0.1:1"
    return settings


def _msg(mid: str) -> Message:
    db.session.rollback()
    return db.session.scalar(select(Message).where(Message.mid == mid))


def _events() -> list[WebhookEvent]:
    db.session.rollback()
    return db.session.scalars(select(WebhookEvent).order_by(WebhookEvent.id)).all()


def test_every_sample_is_covered_here():
    covered = {f"{n:02d}" for n in range(21)}
    assert {p.name[:2] for p in SAMPLES.glob("*.json")} <= covered


def test_real_captures_become_conversations(app, client, settings):
    for ig in ("17841472110558136", "17841453247170088", "17841478341580264", "123456789", "page_id"):
        channel(ig)
    for prefix in ("00", "01", "02", "03", "04", "06"):
        assert post(client, sample(prefix)).status_code == 200
    mention = sample("05")  # the reporter pasted only the messaging element: Meta wraps it in an entry
    assert post(client, {"object": "instagram", "entry": [{"id": "123456789", "time": 1627804239200,
                                                           "messaging": [mention]}]}).status_code == 200
    helpers.run_worker_burst(settings)
    assert [e.status for e in _events()] == ["done"] * 7

    text = _msg(sample("00")["entry"][0]["messaging"][0]["message"]["mid"])
    assert (text.kind, text.text, text.direction, text.author_type) == ("text", "Omg", "in", "customer")
    assert text.sent_at == datetime(2025, 2, 21, 17, 0, 0, 421000)
    conv = db.session.get(Conversation, text.conversation_id)
    assert conv.contact.igsid == "489760440872775"
    assert conv.last_customer_message_at == datetime(2025, 2, 25, 14, 2, 52, 673000)  # the share, newest
    assert conv.unread_count == 3 and conv.status == "open"
    assert conv.last_message_preview == "Shared a post"

    image = _msg(sample("01")["entry"][0]["messaging"][0]["message"]["mid"])
    assert image.kind == "image" and image.conversation_id == conv.id
    (att,) = image.attachments
    assert att.type == "image" and att.source_url.startswith("https://lookaside.fbsbx.com/")
    assert att.status == "failed" and "not one of Meta's media hosts" in att.error

    share = _msg(sample("02")["entry"][0]["messaging"][0]["message"]["mid"])
    assert share.kind == "share" and share.link_url.startswith("https://lookaside.fbsbx.com/") and not share.attachments

    story = _msg(sample("03")["entry"][0]["messaging"][0]["message"]["mid"])
    assert (story.kind, story.text, story.story_id) == ("story_reply", "Hello story", "18040775032372871")
    assert story.story_url.startswith("https://lookaside.fbsbx.com/") and not story.attachments
    assert db.session.get(Conversation, story.conversation_id).last_message_preview == "Replied to your story: Hello story"

    echo = _msg(sample("04")["entry"][0]["messaging"][0]["message"]["mid"])
    assert (echo.direction, echo.author_type, echo.kind) == ("out", "instagram", "reel")
    assert echo.link_title.startswith("VIP King") and echo.extra == {"media_id": "18090345520838968"}
    echo_conv = db.session.get(Conversation, echo.conversation_id)
    assert echo_conv.contact.igsid == "1180226157355226"
    assert echo_conv.unread_count == 0 and echo_conv.last_customer_message_at is None

    unsent = _msg("message_id")
    assert unsent.deleted and unsent.text is None and unsent.direction == "in"
    assert db.session.get(Conversation, unsent.conversation_id).last_message_preview == "Message unsent"

    mention_row = _msg("abcdefgh")
    assert mention_row.kind == "story_mention" and mention_row.story_id == "17891480018194744"
    assert mention_row.story_url.startswith("https://lookaside.fbsbx.com/") and not mention_row.attachments
    # Story media is never downloaded: the only attachment row in this test is the image.
    assert count(Attachment) == 1


def test_doc_examples_reaction_and_read_before_their_message(app, client, settings):
    channel("IGID")
    assert post(client, sample("08")).status_code == 200  # reaction to MESSAGE-ID, not known yet
    assert post(client, sample("09")).status_code == 200  # read receipt of MESSAGE-ID, not known yet
    helpers.run_worker_burst(settings)
    reaction = db.session.scalar(select(Reaction))
    assert (reaction.mid, reaction.reactor_igsid, reaction.reaction, reaction.emoji, reaction.active) == (
        "MESSAGE-ID", "IGSID", "love", "❤️", True)
    assert count(PendingRead, PendingRead.mid == "MESSAGE-ID") == 1

    assert post(client, sample("14")).status_code == 200  # the (disappearing) message itself
    helpers.run_worker_burst(settings)
    m = _msg("MESSAGE-ID")
    assert m.kind == "ephemeral" and m.text is None
    conv = db.session.get(Conversation, m.conversation_id)
    assert conv.customer_seen_at == m.sent_at and count(PendingRead) == 0
    assert "disappearing" in conv.last_message_preview


def test_doc_examples_postback_referral_mention_and_post_share(app, client, settings):
    channel("IGID")
    channel("<IGID>")
    channel("{PAGE_ID}")
    for prefix in ("10", "11", "12", "13"):
        assert post(client, sample(prefix)).status_code == 200
    assert post(client, sample("11")).status_code == 200  # a duplicate delivery changes nothing
    helpers.run_worker_burst(settings)
    assert [e.status for e in _events()] == ["done"] * 5

    postback = _msg("MESSAGE-ID")
    assert (postback.kind, postback.text) == ("postback", "SELECTED-ICEBREAKER-REPLY-OR-CTA-BUTTON")
    assert postback.extra == {"payload": "CUSTOMER-RESPONSE-PAYLOAD"}
    db.session.rollback()
    (referral,) = db.session.scalars(select(Message).where(Message.kind == "referral")).all()
    assert referral.conversation_id == postback.conversation_id
    assert referral.extra["referral"]["ref"] == "INFORMATION-INCLUDED-IN-REF-PARAMETER-OF-IGME-LINK"
    conv = db.session.get(Conversation, postback.conversation_id)
    assert conv.unread_count == 1  # the postback; opening a thread from a link is not a message to read

    mention = _msg("<MESSAGE_ID>")
    assert mention.kind == "story_mention" and mention.story_url == "<CDN_URL>"

    post_share = _msg("{MESSAGE_ID}")  # `share` + `ig_post` together are one message
    assert post_share.kind == "ig_post" and post_share.extra == {"media_id": "18139494541428835"}
    assert post_share.link_title.startswith("Build a workspace")
    assert count(Message, Message.mid == "{MESSAGE_ID}") == 1 and count(Attachment) == 0


def test_open_source_fixtures_iso_times_and_test_events(app, client, settings):
    channel("chatwoot-app-user-id-1")
    page = channel("ig-of-page", page_id="1234567890321")
    for prefix in ("15", "16", "17", "18", "19", "20"):
        assert post(client, sample(prefix)).status_code == 200
    post(client, sample("07"))  # a Graph API message node, not a webhook: recorded, nothing applied
    helpers.run_worker_burst(settings)
    events = _events()
    # the dashboard test, the Messenger event and the Graph node hold nothing for Keloa
    assert [e.status for e in events] == ["done"] * 4 + ["ignored", "ignored", "ignored"]
    assert "test event" in events[4].error and "no entries" in events[6].error
    assert "a Facebook Messenger event" in events[5].error and "@" in events[5].error

    unsupported = _msg("unsupported-message-id-1")
    assert unsupported.kind == "unsupported" and unsupported.sent_at == datetime(2021, 9, 8, 6, 34, 4)
    reel = _msg("message-id-1")
    assert (reel.kind, reel.link_title, reel.link_url) == ("reel", "Reel title", "https://www.example.com/test.jpeg")
    story = _msg("ig-story-message-id-1")
    assert story.kind == "ig_story" and story.story_id == "17949487764033669" and not story.attachments
    reply = _msg("message-id-2")
    assert reply.reply_to_mid == "message-id-1" and reply.text == "This is message with replyto mid"
    assert count(Message, Message.mid == "random_mid") == 0  # the dashboard test event creates nothing
    # A Messenger reaction (object "page") for the Page linked to an Instagram channel is not
    # an Instagram event: nothing of it reaches that channel.
    assert db.session.scalar(select(Reaction).where(Reaction.channel_id == page.id)) is None
    assert count(Contact) == 1
