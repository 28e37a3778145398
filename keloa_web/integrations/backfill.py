"""History backfill: import recent conversations of a newly connected account (optional at connect).

Meta returns the content of only the 20 newest messages of a conversation (decision 9), so those
are imported and a note in the thread says older history stays in Instagram. Messages are keyed by
Meta's mid (unique per channel), so a webhook for the same message later finds it already there.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from keloa_web import changes
from keloa_web.db import db
from keloa_web.graph import ChannelApi, GraphError, for_channel
from keloa_web.integrations import channels as channel_ops
from keloa_web.integrations.ratelimit import wait_turn
from keloa_web.jobs import enqueue_once, job
from keloa_web.models import AuthorType, BackfillState, Channel, Direction, Message, MessageKind, MessageStatus
from keloa_web.webhooks import handlers, parse
from keloa_web.webhooks.apply import Ctx, Effects
from keloa_web.webhooks.lookup import Lookup

log = logging.getLogger(__name__)
DETAIL_LIMIT = 20
MAX_CONVERSATIONS = 500
MESSAGE_FIELDS = "id,created_time,from,to,message,attachments,story,reply_to,is_unsupported"
# Asked for when Meta refuses the full set for a conversation (a field this version or account lacks).
FEWER_FIELDS = "id,created_time,from,to,message"
OLDER_NOTE = ("Imported from Instagram when this account was connected: the {n} most recent messages. "
              "Older messages stay in Instagram (Meta lets apps read only the 20 most recent ones).")


@job("default", timeout=1800)
def backfill_channel(channel_id: int) -> None:
    with db.session_scope(write=False) as s:
        channel = s.get(Channel, channel_id)
        if channel is None or not channel.can_send:
            return
        ig_id, api = channel.ig_account_id, for_channel(channel)
    try:
        conv_ids = _calm(ig_id, lambda: [c["id"] for c in api.paginate(
            api.conversations, platform="instagram", fields="id,updated_time", limit=50)])
        conv_ids = conv_ids[:MAX_CONVERSATIONS]
        _progress(channel_id, total=len(conv_ids))
        report = Report()
        for done, conv_id in enumerate(conv_ids, start=1):
            listing = _read_conversation(api, ig_id, conv_id, report)
            if listing is not None and (imported := _import(channel_id, conv_id, listing, report)) is not None:
                _fetch_later(imported)
            _progress(channel_id, done=done, skipped=report.skipped, note=report.note())
    except Exception as exc:
        with db.session_scope() as s:
            if isinstance(exc, GraphError) and exc.token_invalid:
                channel_ops.mark_needs_reconnect(s, channel_id, channel_ops.token_reason(exc))
            channel = s.get(Channel, channel_id)
            channel.backfill_state = BackfillState.FAILED
            channel.backfill_note = (getattr(exc, "message", None) or type(exc).__name__)[:500]
        raise
    _progress(channel_id, state=BackfillState.DONE)


@dataclass
class Report:
    """Conversations a backfill could not import, and why, for the channel's card."""

    skipped: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    fewer_fields: int = 0

    def skip(self, reason: str) -> None:
        self.skipped += 1
        self.reasons[reason] = self.reasons.get(reason, 0) + 1

    def note(self) -> str | None:
        parts = [f"{why} ({n})" if n > 1 else why for why, n in self.reasons.items()]
        if self.fewer_fields:
            parts.append(f"{self.fewer_fields} imported without media and story details, which Meta refused")
        return "; ".join(parts)[:1000] or None


def _read_conversation(api: ChannelApi, ig_id: str, conv_id: str, report: Report) -> dict | None:
    """The newest messages of one conversation, asking for fewer fields if Meta refuses the full
    set; None (and the reason in `report`) if Meta refuses both. A bad token stops the import."""
    problem: GraphError | None = None
    for fields in (MESSAGE_FIELDS, FEWER_FIELDS):
        try:
            body = _calm(ig_id, lambda: api.get(conv_id,
                                                  fields=f"messages.limit({DETAIL_LIMIT + 1}){{{fields}}}"))
        except GraphError as exc:
            if exc.token_invalid:
                raise
            problem = exc
            continue
        if fields is FEWER_FIELDS:
            report.fewer_fields += 1
        return body.get("messages") or {}
    report.skip(f"Meta refused: {problem.message}" if problem.message else "Meta refused it")
    return None


def _calm(ig_id: str, call, attempts: int = 4):
    """Run one Graph call in this account's Conversations API slot; wait and retry when Meta says 613."""
    for attempt in range(attempts):
        wait_turn(ig_id)
        try:
            return call()
        except GraphError as exc:
            if not exc.rate_limited or attempt == attempts - 1:
                raise
            time.sleep(min(exc.retry_after or 1.0 * (attempt + 1), 60))


def _progress(channel_id: int, total: int | None = None, done: int | None = None, state: str | None = None,
              skipped: int | None = None, note: str | None = None):
    with db.session_scope() as s:
        channel = s.get(Channel, channel_id)
        if total is not None:
            channel.backfill_total, channel.backfill_skipped, channel.backfill_note = total, 0, None
        if done is not None:
            channel.backfill_done = done
        if skipped is not None:
            channel.backfill_skipped, channel.backfill_note = skipped, note
        if state is not None:
            channel.backfill_state = state


@dataclass
class Imported:
    attachment_ids: list[int] = field(default_factory=list)  # to download
    profile_contact_id: int | None = None  # a customer whose profile to read, by ingest's rule


def import_conversation(s: Session, channel: Channel, listing: dict) -> Imported:
    """Import the newest messages of one conversation listing (newest first).

    Each is recorded by ingest's own `handlers.record`, as old history: the contact, conversation,
    message, preview and last customer time follow the webhooks' rules, but an imported message is
    not unread and wakes no AI agent (`Ctx.history`)."""
    items = [m for m in listing.get("data", []) if m.get("from")][:DETAIL_LIMIT]
    truncated = len(listing.get("data", [])) > DETAIL_LIMIT or bool((listing.get("paging") or {}).get("next"))
    customer = next((m for m in items if str(m["from"].get("id")) != channel.ig_account_id), None)
    out = Imported()
    if customer is None:
        return out
    igsid = parse.ident(customer["from"]["id"])
    lookup, fx = Lookup(s), Effects()
    lookup.prefetch({channel.id}, {_mid(m) for m in items}, {igsid})
    contact = _ctx(lookup, channel, igsid, customer, fx).contact()
    if not contact.username:  # the Conversations API names the customer; a webhook does not
        contact.username = parse.clean(customer["from"].get("username"), 120)
    for item in reversed(items):
        handlers.record(_ctx(lookup, channel, igsid, item, fx), _mid(item), _content(item))
    conversation = lookup.conversation(contact)
    if conversation is None:
        return out
    s.flush()
    if truncated and items and not s.scalar(select(Message.id).where(
            Message.conversation_id == conversation.id, Message.kind == MessageKind.NOTE,
            Message.author_type == AuthorType.SYSTEM)):
        # Just before the oldest imported message, so the thread reads: note, then history.
        oldest = min(_time(m["created_time"]) for m in items) - timedelta(seconds=1)
        s.add(Message(conversation_id=conversation.id, channel_id=channel.id, direction=Direction.NOTE,
                      kind=MessageKind.NOTE, author_type=AuthorType.SYSTEM, status=MessageStatus.RECEIVED,
                      sent_at=oldest,
                      text=OLDER_NOTE.format(n=len(items)), extra={"backfill": True}))
        s.flush()
    out.attachment_ids = [a.id for a in fx.attachments]
    if contact in fx.new_contacts or contact.id in fx.profiles:
        out.profile_contact_id = contact.id
    changes.touch(s, conversation.id)
    return out


def _ctx(lookup: Lookup, channel: Channel, igsid: str, item: dict, fx: Effects) -> Ctx:
    """One message node as ingest's event context: the customer's conversation, at the node's time."""
    at = _time(item["created_time"])
    ts = int(at.replace(tzinfo=timezone.utc).timestamp() * 1000)
    return Ctx(lookup.session, lookup, channel, igsid, str(item["from"].get("id")) == channel.ig_account_id,
               at, ts, item, fx, history=True)


def _mid(item: dict) -> str:
    return parse.mid_of({"mid": item["id"]})  # the node's id is the message's mid, as webhooks give it


def _content(item: dict) -> parse.Content:
    content = parse.node_content(item)
    content.extra["backfill"] = True
    return content


def _import(channel_id: int, conv_id: str, listing: dict, report: Report) -> Imported | None:
    """Store one conversation's messages; None (and a line in the report) if it cannot be read."""
    for attempt in (1, 2):
        try:
            with db.session_scope() as s:
                return import_conversation(s, s.get(Channel, channel_id), listing)
        except IntegrityError:
            # PostgreSQL: a webhook stored one of these messages between our look-up and our insert
            # (SQLite's BEGIN IMMEDIATE rules that out). Once more: it is committed now.
            if attempt == 2:
                raise
        except (KeyError, ValueError, TypeError, AttributeError) as exc:
            log.warning("backfill of channel %s: conversation %s unreadable: %r", channel_id, conv_id, exc)
            report.skip("Meta's answer for it could not be read")
            return None
    return None


def _fetch_later(imported: Imported) -> None:
    """Download imported media now (Meta's links expire) and look up new customers' profiles,
    with the same jobs and job ids as webhook ingest, so neither runs twice."""
    from keloa_web.media.jobs import fetch_media
    from keloa_web.webhooks.profiles import fetch_profile

    for attachment_id in imported.attachment_ids:
        enqueue_once(fetch_media, attachment_id, job_id=f"media-{attachment_id}")
    if imported.profile_contact_id is not None:
        enqueue_once(fetch_profile, imported.profile_contact_id, job_id=f"profile-{imported.profile_contact_id}")



def _time(value: str) -> datetime:
    """Graph's '2026-11-25T10:00:00+0000' as naive UTC."""
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S%z").astimezone(timezone.utc).replace(tzinfo=None)
