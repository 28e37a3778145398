"""Reading Meta's webhook bodies defensively: by the keys present, never by exact key sets.

Real traffic varies (see ../shared/meta/samples): epoch-ms integers or ISO strings for times,
booleans or "true" for flags, attachments Meta adds over time. Everything here returns plain values
and never raises on odd input; apply.py decides what to do with them.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Iterator
from urllib.parse import parse_qs, urlsplit

from keloa_web.models import AttachmentType, MessageKind

MEDIA_TYPES = tuple(AttachmentType)
# Plausible event times; anything outside is replaced by the time Keloa received the event.
_MIN_TS = datetime(2010, 1, 1)
_ID_MAX = 64
_MID_MAX = 300


@dataclass
class Item:
    """One event from a body: `messaging[]`, `standby[]` or a `changes[]` value."""

    entry_id: str | None
    source: str  # messaging | standby | test | changes:<field>
    data: dict


@dataclass
class Content:
    """What a `message` object says, ready to become a Message row and its Attachments."""

    kind: str = MessageKind.TEXT
    text: str | None = None
    media: list[tuple[str, str | None]] = field(default_factory=list)  # (type, url)
    link_url: str | None = None
    link_title: str | None = None
    story_id: str | None = None
    story_url: str | None = None
    reply_to_mid: str | None = None
    extra: dict = field(default_factory=dict)


def clean(value: Any, limit: int | None = None) -> str | None:
    """A storable string: no NUL (PostgreSQL refuses it), no lone surrogates (UTF-8 refuses them)."""
    if value is None or isinstance(value, (dict, list)):
        return None
    if isinstance(value, str) and value.isascii() and "\x00" not in value:
        return value[:limit] if limit else value  # the common case, without re-encoding
    text = str(value).replace("\x00", "").encode("utf-8", "replace").decode("utf-8")
    return text[:limit] if limit else text


def ident(value: Any, limit: int = _ID_MAX) -> str | None:
    """An id from Meta as a bounded string; overlong ones are hashed so they stay unique."""
    if isinstance(value, dict):
        value = value.get("id")
    if isinstance(value, bool) or value is None:
        return None
    text = clean(value)
    if not text or not text.strip():
        return None
    text = text.strip()
    if len(text) > limit:
        return "keloa:" + hashlib.sha256(text.encode()).hexdigest()[: limit - 6]
    return text


def mid_of(obj: Any) -> str | None:
    return ident(obj.get("mid"), _MID_MAX) if isinstance(obj, dict) else None


def synthetic_mid(kind: str, data: dict) -> str:
    """A stable key for events Meta gives no message id (referrals, old postbacks)."""
    digest = hashlib.sha256(repr(_stable(data)).encode()).hexdigest()[:40]
    return f"keloa:{kind}:{digest}"


def _stable(value: Any):
    if isinstance(value, dict):
        return tuple(sorted((str(k), _stable(v)) for k, v in value.items()))
    if isinstance(value, list):
        return tuple(_stable(v) for v in value)
    return value


def truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    return value is True or value == 1


def timestamp(value: Any, fallback: datetime) -> tuple[datetime, int]:
    """(naive UTC datetime, epoch ms) from epoch ms/seconds or ISO 8601; `fallback` if absurd."""
    at = None
    if isinstance(value, str) and value.strip().lstrip("-").replace(".", "", 1).isdigit():
        value = float(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = value / 1000 if abs(value) > 1e11 else value
        try:
            at = datetime.fromtimestamp(seconds, timezone.utc).replace(tzinfo=None)
        except (OverflowError, OSError, ValueError):
            at = None
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
            at = parsed.astimezone(timezone.utc).replace(tzinfo=None) if parsed.tzinfo else parsed
        except ValueError:
            at = None
    if at is None or not (_MIN_TS <= at <= fallback + timedelta(days=366)):
        at = fallback
    epoch = at.replace(tzinfo=timezone.utc).timestamp()
    return at, int(epoch * 1000)


def items(body: Any) -> Iterator[Item]:
    """Every event in a body, whatever mix of entries and arrays it holds."""
    entries = body.get("entry") if isinstance(body, dict) else None
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict):
            continue
        entry_id = ident(entry.get("id"))
        for key in ("messaging", "standby"):
            for data in _dicts(entry.get(key)):
                yield Item(entry_id, key, data)
        for change in _dicts(entry.get("changes")):
            field_name = clean(change.get("field"), 40) or "unknown"
            value = change.get("value") if isinstance(change.get("value"), dict) else {}
            # The App Dashboard's "Test" button sends entry id "0" and a changes[] item.
            if entry_id == "0":
                source = "test"
            else:
                source = "messaging" if field_name == "messages" else f"changes:{field_name}"
            yield Item(entry_id, source, value)


def _dicts(value: Any) -> list[dict]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def classify(data: dict) -> str:
    """message | echo | delete | edit | reaction | read | postback | referral | handover | other."""
    message = data.get("message")
    if isinstance(message, dict):
        if truthy(message.get("is_deleted")):
            return "delete"
        return "echo" if truthy(message.get("is_echo")) else "message"
    for key, kind in (("reaction", "reaction"), ("read", "read"), ("message_edit", "edit"),
                      ("postback", "postback"), ("referral", "referral"), ("pass_thread_control", "handover"),
                      ("take_thread_control", "handover")):
        if isinstance(data.get(key), dict):
            return kind
    return "other"


def asset_id(url: str | None) -> str | None:
    if not url:
        return None
    try:
        values = parse_qs(urlsplit(url).query).get("asset_id")
    except ValueError:
        return None
    return ident(values[0]) if values else None


def content(message: dict) -> Content:
    """Describe a `message` object: text, media to download, shares, stories, replies."""
    c = Content(text=clean(message.get("text")))
    kinds: list[str] = []
    for att in _dicts(message.get("attachments")):
        kinds.append(_attachment(c, clean(att.get("type"), 40) or "", att.get("payload")))
    reply_to = message.get("reply_to") if isinstance(message.get("reply_to"), dict) else {}
    story = reply_to.get("story") if isinstance(reply_to.get("story"), dict) else None
    if story is not None:
        kinds.append(MessageKind.STORY_REPLY)
        c.story_url = clean(story.get("url") or story.get("link"))
        c.story_id = ident(story.get("id")) or asset_id(c.story_url)
    c.reply_to_mid = mid_of(reply_to)
    referral = message.get("referral")
    if isinstance(referral, dict):
        c.extra["referral"] = _referral(referral)
        if str(referral.get("source", "")).upper() == "STORY_MENTION":
            kinds.append(MessageKind.STORY_MENTION)
            c.story_url = c.story_url or clean(referral.get("url") or referral.get("link"))
            c.story_id = c.story_id or ident(referral.get("id")) or asset_id(c.story_url)
    quick = message.get("quick_reply")
    if isinstance(quick, dict):
        c.extra["quick_reply"] = clean(quick.get("payload"), 1000)
    if truthy(message.get("is_unsupported")):
        kinds.append(MessageKind.UNSUPPORTED)
    c.kind = _pick_kind(kinds, c.text)
    return c


def node_content(node: dict) -> Content:
    """Describe a Conversations API message node (what the history import reads) as `content`
    describes a webhook's message, so both become the same kind of Message."""
    c = Content(text=clean(node.get("message")) or None)
    kinds: list[str] = []
    story = node.get("story") if isinstance(node.get("story"), dict) else {}
    for key, kind in (("mention", "story_mention"), ("reply_to", "story_reply")):
        if isinstance(story.get(key), dict):
            kinds.append(kind)
            c.story_url, c.story_id = clean(story[key].get("link")), ident(story[key].get("id"))
    attachments = node.get("attachments") if isinstance(node.get("attachments"), dict) else {}
    for att in _dicts(attachments.get("data")):
        kind, url = _node_attachment(att)
        c.media.append((kind, url))
        kinds.append(kind)
    c.reply_to_mid = mid_of(node.get("reply_to"))
    if truthy(node.get("is_unsupported")):
        kinds.append("unsupported")
    c.kind = _pick_kind(kinds, c.text)
    return c


def _node_attachment(att: dict) -> tuple[str, str | None]:
    for key, kind in (("image_data", "image"), ("video_data", "video")):
        if isinstance(att.get(key), dict):
            return kind, clean(att[key].get("url"))
    mime = clean(att.get("mime_type")) or ""
    return ("audio" if mime.startswith("audio/") else "file"), clean(att.get("file_url"))


# When one message carries several attachment kinds, the most specific one names it.
_KIND_ORDER = (MessageKind.STORY_REPLY, MessageKind.STORY_MENTION, MessageKind.IG_STORY, MessageKind.IG_POST,
               MessageKind.REEL, MessageKind.SHARE, MessageKind.IMAGE, MessageKind.VIDEO, MessageKind.AUDIO,
               MessageKind.FILE, MessageKind.EPHEMERAL, MessageKind.UNSUPPORTED)


def _pick_kind(kinds: list[str], text: str | None) -> str:
    for kind in _KIND_ORDER:
        if kind in kinds:
            return kind
    return MessageKind.TEXT if text is not None or not kinds else MessageKind.UNSUPPORTED


def _attachment(c: Content, kind: str, payload: Any) -> str:
    p = payload if isinstance(payload, dict) else {}
    url = clean(p.get("url"))
    kind = kind.lower()
    if kind in MEDIA_TYPES:
        c.media.append((kind, url))
        return kind
    if kind in ("share", "ig_post", "ig_reel", "reel", "fallback"):
        # Since 2025-11 a post share arrives as both `share` and `ig_post`: one message, one link.
        c.link_url = c.link_url or url
        c.link_title = c.link_title or clean(p.get("title"))
        media_id = ident(p.get("ig_post_media_id") or p.get("reel_video_id"))
        if media_id:
            c.extra.setdefault("media_id", media_id)
        return {"ig_reel": MessageKind.REEL, "fallback": MessageKind.SHARE}.get(kind, kind)
    if kind == "ig_story":
        c.story_url = clean(p.get("story_media_url")) or url
        c.story_id = ident(p.get("story_media_id")) or asset_id(c.story_url)
        return MessageKind.IG_STORY
    if kind == "story_mention":
        c.story_url = url
        c.story_id = ident(p.get("id")) or asset_id(url)
        return MessageKind.STORY_MENTION
    if kind == "ephemeral":
        return MessageKind.EPHEMERAL
    c.extra.setdefault("attachment_types", []).append(kind or "unknown")
    return MessageKind.UNSUPPORTED


def _referral(referral: dict) -> dict:
    keep = {k: clean(referral.get(k), 500) for k in ("ref", "source", "type", "ad_id") if referral.get(k) is not None}
    ads = referral.get("ads_context_data")
    if isinstance(ads, dict):
        keep["ad_title"] = clean(ads.get("ad_title"), 500)
    product = referral.get("product")
    if isinstance(product, dict):
        keep["product_id"] = ident(product.get("id"))
    return keep
