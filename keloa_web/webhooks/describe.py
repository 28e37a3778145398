"""Messages in words: the conversation list's preview, and the text shown for non-text messages."""
from __future__ import annotations

PREVIEW_MAX = 200

_MEDIA = {"image": "📷 Photo", "video": "🎥 Video", "audio": "🎤 Audio", "file": "📎 File"}


def describe(message) -> str:
    """What a message is, in words a teammate understands at a glance (never HTML)."""
    if message.deleted:
        return "Message unsent"
    kind, text = message.kind, (message.text or "").strip()
    extra = message.extra or {}
    if kind in _MEDIA:
        return f"{_MEDIA[kind]}: {text}" if text else _MEDIA[kind]
    if kind == "story_reply":
        return f"Replied to your story: {text}" if text else "Replied to your story"
    if kind == "story_mention":
        return "Mentioned you in their story"
    if kind == "ig_story":
        return "Shared a story"
    if kind in ("share", "ig_post", "reel"):
        what = "a reel" if kind == "reel" else "a post"
        title = (message.link_title or "").strip().splitlines()
        return f"Shared {what}: {title[0]}" if title else f"Shared {what}"
    if kind == "ephemeral":
        return "Sent a disappearing photo or video (open Instagram to see it)"
    if kind == "unsupported":
        return "Sent something Keloa cannot show (open Instagram to see it)"
    if kind == "postback":
        return f"Tapped “{text}”" if text else "Tapped a button"
    if kind == "referral":
        ref = extra.get("referral") or {}
        if ref.get("source") == "ADS":
            return f"Came from the ad “{ref['ad_title']}”" if ref.get("ad_title") else "Came from an ad"
        return "Opened the conversation from a link"
    if extra.get("early") == "edit" and not text:
        return "Edited a message (the original has not reached Keloa)"
    return text or "Message"


def preview(message) -> str:
    words = " ".join(describe(message).split())
    return words if len(words) <= PREVIEW_MAX else words[: PREVIEW_MAX - 1] + "…"
