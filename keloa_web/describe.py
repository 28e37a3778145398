"""Messages in words: one vocabulary for the conversation list's preview, the thread, the quotes of
the composer and the AI agent's context, so that each kind of message is called the same everywhere.

    label(message)     "Photo", "Replied to your story", "Message unsent"... ("" for plain text)
    describe(message)  the label and what the message says: "Replied to your story: Love it!"
    preview(message)   describe() on one line, for the conversation list
    for_ai(message)    what the AI reads: "[Photo] is this in stock?"

Templates use the `message_label`, `message_words` and `kind_label` filters (inbox/views.py).
"""
from __future__ import annotations

PREVIEW_MAX = 200
ICE_BREAKER_PAYLOAD = "KELOA_ICE_BREAKER_"  # + the question's number
UNSENT = "Message unsent"
EARLY_EDIT = "Edited a message (the original has not reached Keloa)"

# What a message of each kind is, as a teammate reads it; a message's own text follows these words.
KINDS = {
    "image": "Photo", "video": "Video", "audio": "Voice message", "file": "File",
    "story_reply": "Replied to your story", "story_mention": "Mentioned you in their story",
    "ig_story": "Shared a story", "ig_post": "Shared a post", "share": "Shared a post", "reel": "Shared a reel",
    "ephemeral": "Sent a disappearing photo or video",
    "unsupported": "Sent something Instagram does not share with apps",
    "postback": "Tapped a button",
    "referral": "Opened the conversation from a link",
}
SHARES = ("share", "reel", "ig_post", "ig_story")
ICONS = {"image": "📷", "video": "🎥", "audio": "🎤", "file": "📎"}  # the list's preview only


def kind_label(kind: str | None) -> str:
    """The words for one kind (also an attachment's type): "Photo", "Voice message"..."""
    return KINDS.get(kind or "", "Message")


def _ice_breaker(message) -> bool:
    """A tap on one of the ice breakers Keloa set (integrations/icebreakers.py names their payloads)."""
    payload = (message.extra or {}).get("payload")
    return isinstance(payload, str) and payload.startswith(ICE_BREAKER_PAYLOAD)


def label(message) -> str:
    """What the message is, without what it says; "" for a plain text message."""
    if message.deleted:
        return UNSENT
    kind, extra = message.kind, message.extra or {}
    if kind == "postback":
        return "Chose an ice breaker" if _ice_breaker(message) else KINDS["postback"]
    if kind == "referral":
        ref = extra.get("referral") or {}
        if ref.get("source") == "ADS":
            return f"Came from the ad “{ref['ad_title']}”" if ref.get("ad_title") else "Came from an ad"
        return KINDS["referral"]
    if kind in KINDS:
        return KINDS[kind]
    if extra.get("early") == "edit" and not (message.text or "").strip():
        return EARLY_EDIT
    return ""


def describe(message) -> str:
    """The label and what the message says, in words a teammate understands at a glance (never HTML)."""
    words, text = label(message), (message.text or "").strip()
    if message.deleted:
        return words
    if message.kind in SHARES:
        title = (message.link_title or "").strip().splitlines()
        return f"{words}: {title[0]}" if title else words
    if message.kind == "postback" and text:
        return f"Chose an ice breaker: “{text}”" if _ice_breaker(message) else f"Tapped “{text}”"
    if message.kind == "referral" or not text:
        return words or text or "Message"
    return f"{words}: {text}" if words else text


def preview(message) -> str:
    """describe() on one line and at most PREVIEW_MAX characters, a media icon before it."""
    words = describe(message)
    if not message.deleted and message.kind in ICONS:
        words = f"{ICONS[message.kind]} {words}"
    words = " ".join(words.split())
    return words if len(words) <= PREVIEW_MAX else words[: PREVIEW_MAX - 1] + "…"


def for_ai(message) -> str:
    """What the AI agent reads of a message: the label in brackets, then the text.

    A tapped button (an ice breaker) is read as the words the customer chose, without a label: it is
    answered as their question. Opening the conversation from a link is not something they said."""
    if message.kind == "postback" and not message.deleted:
        return (message.text or "").strip()
    if message.kind == "referral" and not message.deleted:
        return ""
    words, text = label(message), (message.text or "").strip()
    if message.deleted or not words:
        return f"[{words}]" if words else text
    return f"[{words}] {text}" if text else f"[{words}]"
