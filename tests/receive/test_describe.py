"""One vocabulary: every kind of message Keloa stores is called the same in the conversation list,
in the thread and in what the AI agent reads (keloa_web/describe.py)."""
from __future__ import annotations

import copy
import html
import re
import time

import pytest
from sqlalchemy import select

from keloa_web.agents import context
from keloa_web.db import db
from keloa_web.models import Conversation, Message
from tests import helpers
from tests.receive.util import channel, messaging, post, sample

IG = "17841400000000042"
CDN = "https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=1&signature=x"


def _event(prefix: str) -> dict:
    """The event of one of Meta's samples (tests/fixtures/meta_samples), whatever its wrapping."""
    payload = sample(prefix)
    return copy.deepcopy(payload["entry"][0]["messaging"][0] if "entry" in payload else payload)


def _message(prefix: str) -> dict:
    return _event(prefix)["message"]


def _media(kind: str) -> dict:
    return {"attachments": [{"type": kind, "payload": {"url": CDN}}]}


# kind: (the customer's events, the words the list, the thread and the AI all use, what the AI reads
# instead when it differs on purpose). `None` means the event of the sample as it is.
CASES = {
    "text": ([{"message": _message("00")}], "Omg", None),
    "image": ([{"message": _message("01")}], "Photo", None),
    "video": ([{"message": _media("video")}], "Video", None),
    "audio": ([{"message": _media("audio")}], "Voice message", None),
    "file": ([{"message": _media("file")}], "File", None),
    "share": ([{"message": _message("02")}], "Shared a post", None),
    "story_reply": ([{"message": _message("03")}], "Replied to your story", None),
    "story_mention": ([{"message": _message("05")}], "Mentioned you in their story", None),
    "ig_post": ([{"message": _message("13")}], "Shared a post", None),
    "ephemeral": ([{"message": _message("14")}], "Sent a disappearing photo or video", None),
    "unsupported": ([{"message": _message("15")}], "Sent something Instagram does not share with apps", None),
    "reel": ([{"message": _message("16")}], "Shared a reel", None),
    "ig_story": ([{"message": _message("17")}], "Shared a story", None),
    "deleted": ([{"message": {"text": "oops, wrong chat"}}, {"message": _message("06")}], "Message unsent", None),
    # A tapped button is answered as the words the customer chose; opening a thread from a link
    # is not something they said, so the AI does not read it.
    "postback": ([{"postback": _event("10")["postback"]}],
                 "Tapped “SELECTED-ICEBREAKER-REPLY-OR-CTA-BUTTON”", "SELECTED-ICEBREAKER-REPLY-OR-CTA-BUTTON"),
    "ice_breaker": ([{"postback": {"title": "What are your opening hours?", "payload": "KELOA_ICE_BREAKER_0"}}],
                    "Chose an ice breaker: “What are your opening hours?”", "What are your opening hours?"),
    "referral": ([{"referral": _event("11")["referral"]}], "Opened the conversation from a link", ""),
}


@pytest.fixture()
def settings(settings):
    settings["META_CDN_HOSTS"] = "127.0.0.1:1"  # Meta's real CDN links are refused by host
    return settings


def test_list_thread_and_ai_context_use_the_same_words_for_every_kind(app, agent_client, settings):
    channel(IG)
    ts = int(time.time() * 1000) - 600_000
    bodies = []
    for n, (kind, (events, _, _)) in enumerate(CASES.items()):
        customer = f"customer-{kind}"
        for i, event in enumerate(events):
            event = copy.deepcopy(event)
            for key in ("message", "postback"):
                if key in event:
                    event[key]["mid"] = f"mid-{kind}"  # one message per customer, unsent in place
            bodies.append(messaging(customer, IG, ts + n * 1000 + i, **event))
    for event in bodies:
        assert post(agent_client, {"object": "instagram", "entry": [
            {"id": IG, "time": event["timestamp"], "messaging": [event]}]}).status_code == 200
    helpers.run_worker_burst(settings)
    db.session.rollback()

    seen = {}
    for kind, (_, words, ai_words) in CASES.items():
        m = db.session.scalar(select(Message).join(Conversation).where(
            Message.direction == "in", Conversation.contact.has(igsid=f"customer-{kind}")))
        conv = db.session.get(Conversation, m.conversation_id)
        seen[kind] = (m.id, conv.id, m.kind, m.deleted)
        assert words.lower() in conv.last_message_preview.lower(), (kind, conv.last_message_preview)
        page = agent_client.get(f"/inbox/c/{conv.id}").get_data(as_text=True)
        article = re.search(rf'<article id="msg-{m.id}".*?</article>', page, re.S).group(0)
        shown = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", article.replace('alt="', '> '))).split())
        assert words.lower() in shown.lower(), (kind, shown)

    # Every kind Keloa stores from a customer is covered (notes are the team's own).
    assert {k for _, _, k, deleted in seen.values() if not deleted} >= {
        "text", "image", "video", "audio", "file", "share", "story_reply", "story_mention", "ig_post",
        "ephemeral", "unsupported", "reel", "ig_story", "postback", "referral"}

    # The business answers and the customer writes again: each message above is now history the AI reads.
    later = ts + 60_000
    for n, kind in enumerate(CASES):
        for i, event in enumerate((
                messaging(IG, f"customer-{kind}", later + n * 10, message={"mid": f"echo-{kind}", "is_echo": True,
                                                                         "text": "Let me check that for you."}),
                messaging(f"customer-{kind}", IG, later + n * 10 + 1, message={"mid": f"again-{kind}",
                                                                               "text": "Any news on this?"}))):
            assert post(agent_client, {"object": "instagram", "entry": [
                {"id": IG, "time": event["timestamp"], "messaging": [event]}]}).status_code == 200
    helpers.run_worker_burst(settings)
    db.session.rollback()
    for kind, (_, words, ai_words) in CASES.items():
        message_id, conv_id, _, _ = seen[kind]
        newest = db.session.scalar(select(Message).where(Message.mid == f"again-{kind}"))
        ctx = context.read(db.session, conv_id, newest)
        assert ctx.question == "Any news on this?"
        read = [text for who, text in ctx.history if who == "user"]
        expected = words if ai_words is None else ai_words
        if expected:
            assert any(expected.lower() in text.lower() for text in read), (kind, read)
        else:
            assert not any("conversation from a link" in text for text in read), (kind, read)


def test_a_shared_story_shows_its_preview_not_no_longer_available(app, agent_client, settings):
    """A story the customer shares arrives with its media link (not a post's link): the thread shows
    its preview, captioned like the list's words, while Meta's CDN still serves it."""
    app.config["META_CDN_HOSTS"] = ["lookaside.fbsbx.com"]
    channel(IG)
    event = messaging("customer-story", IG, int(time.time() * 1000), message=_message("17"))
    assert post(agent_client, {"object": "instagram", "entry": [
        {"id": IG, "time": event["timestamp"], "messaging": [event]}]}).status_code == 200
    helpers.run_worker_burst(settings)
    db.session.rollback()
    m = db.session.scalar(select(Message).where(Message.kind == "ig_story"))
    page = agent_client.get(f"/inbox/c/{m.conversation_id}").get_data(as_text=True)
    article = re.search(rf'<article id="msg-{m.id}".*?</article>', page, re.S).group(0)
    assert 'class="story-preview" src="https://lookaside.fbsbx.com/ig_messaging_cdn/' in article
    assert "Shared a story" in article and "no longer available" not in article.replace("Story no longer available", "")
