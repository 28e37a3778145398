"""The figures of the Reports page for one period and filter, each from indexed aggregates.

A period is [start, end) in UTC, chosen in the reader's time zone (keloa_web/reports/periods.py).
The filter narrows to accounts the reader may see (always), one account, one label, one teammate
(the conversations assigned to them; for "replies per teammate", their own replies).

- opened: conversations created in the period.
- first response: for those, `first_reply_at - created_at` (a teammate, the AI or the Instagram app).
- resolution: each resolution in the period, from the conversation's creation.
- window: of the conversations opened, first answered within the untagged window (24 h), only
  later (inside Human agent's 7 days: a person's tagged reply), or never while the window was open
  (the ones a team loses); failed or unknown sends in the period.
- AI: replies by the AI against customer messages; hand-offs and their reasons.
- busiest hours: customer messages per weekday and hour, in the reader's time zone.
"""
from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from keloa_web.models import (
    AuthorType, Conversation, ConversationEvent, Direction, EventKind, GapKind, KnowledgeGap, Message, MessageStatus,
    User, conversation_labels,
)

DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass
class Filter:
    start: datetime
    end: datetime
    zone: ZoneInfo
    channel_ids: set[int] | None = None  # None: every account (an admin)
    channel_id: int | None = None
    label_id: int | None = None
    user_id: int | None = None


@dataclass
class Durations:
    count: int
    median: timedelta | None
    p90: timedelta | None


@dataclass
class Report:
    opened: int = 0
    messages_in: int = 0
    messages_out: int = 0
    first_response: Durations | None = None
    resolution: Durations | None = None
    resolved: int = 0
    per_day: list[tuple[str, int, int]] = field(default_factory=list)  # (day, opened, customer messages)
    replies_by: list[tuple[str, int]] = field(default_factory=list)
    heatmap: list[list[int]] = field(default_factory=list)  # [weekday][hour]
    ai_replies: int = 0
    handoffs: int = 0
    ai_corrected: int = 0  # AI answers a teammate corrected (knowledge gaps of kind "corrected")
    ai_then_handoff: int = 0  # hand-offs in conversations the AI had already answered
    handoff_reasons: list[tuple[str, int]] = field(default_factory=list)
    window_in_24h: int = 0
    window_human_agent: int = 0
    window_lost: int = 0
    window_waiting: int = 0
    sends_failed: int = 0
    sends_unknown: int = 0

    @property
    def ai_share(self) -> float | None:
        return self.ai_replies / self.messages_in if self.messages_in else None

    @property
    def handoff_rate(self) -> float | None:
        return self.handoffs / self.ai_replies_or_handoffs if self.ai_replies_or_handoffs else None

    @property
    def ai_replies_or_handoffs(self) -> int:
        return self.ai_replies + self.handoffs


def _durations(values: list[timedelta]) -> Durations:
    values = sorted(v for v in values if v >= timedelta(0))  # imported past conversations: no figure
    if not values:
        return Durations(0, None, None)
    p90 = values[min(len(values) - 1, int(round(0.9 * (len(values) - 1))))]
    return Durations(len(values), statistics.median_low(values), p90)


def _conversation_scope(f: Filter):
    """Conditions on Conversation for the filter."""
    where = []
    if f.channel_ids is not None:
        where.append(Conversation.channel_id.in_(f.channel_ids or {-1}))
    if f.channel_id is not None:
        where.append(Conversation.channel_id == f.channel_id)
    if f.user_id is not None:
        where.append(Conversation.assignee_id == f.user_id)
    if f.label_id is not None:
        where.append(Conversation.id.in_(select(conversation_labels.c.conversation_id)
                                         .where(conversation_labels.c.label_id == f.label_id)))
    return where


def _message_scope(f: Filter):
    where = [Message.sent_at >= f.start, Message.sent_at < f.end]
    scope = _conversation_scope(f)
    if f.label_id is not None or f.user_id is not None:
        where.append(Message.conversation_id.in_(select(Conversation.id).where(*scope)))
    else:
        if f.channel_ids is not None:
            where.append(Message.channel_id.in_(f.channel_ids or {-1}))
        if f.channel_id is not None:
            where.append(Message.channel_id == f.channel_id)
    return where


def _local_day(at: datetime, zone: ZoneInfo) -> str:
    return at.replace(tzinfo=timezone.utc).astimezone(zone).strftime("%Y-%m-%d")


def compute(s: Session, f: Filter) -> Report:
    cfg = current_app.config
    untagged = timedelta(hours=cfg["WINDOW_UNTAGGED_HOURS"])
    human = timedelta(hours=cfg["WINDOW_HUMAN_AGENT_HOURS"] or 24 * 7)
    r = Report()
    scope = _conversation_scope(f)
    opened = s.execute(select(Conversation.created_at, Conversation.first_reply_at).where(
        Conversation.created_at >= f.start, Conversation.created_at < f.end, *scope)).all()
    r.opened = len(opened)
    r.first_response = _durations([reply - created for created, reply in opened if reply is not None])
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    for created, reply in opened:
        if reply is not None and reply < created:
            continue  # imported from before Keloa: not counted either way
        if reply is not None and reply - created <= untagged:
            r.window_in_24h += 1
        elif reply is not None and reply - created <= human:
            r.window_human_agent += 1
        elif reply is None and now - created <= untagged:
            r.window_waiting += 1
        else:
            r.window_lost += 1  # never answered in time (or only after Instagram's window)

    resolved = s.execute(select(ConversationEvent.at, Conversation.created_at).join(
        Conversation, Conversation.id == ConversationEvent.conversation_id).where(
        ConversationEvent.kind == EventKind.RESOLVED, ConversationEvent.at >= f.start, ConversationEvent.at < f.end,
        *scope)).all()
    r.resolved = len(resolved)
    r.resolution = _durations([at - created for at, created in resolved])

    mscope = _message_scope(f)
    # One pass over the period's messages, grouped by what the figures tell apart.
    groups = s.execute(select(Message.direction, Message.author_type, Message.status, Message.author_user_id,
                              func.count()).where(*mscope, Message.direction.in_((Direction.IN, Direction.OUT)))
                       .group_by(Message.direction, Message.author_type, Message.status, Message.author_user_id)).all()
    by_user: Counter = Counter()
    for direction, author, status, user_id, n in groups:
        if direction == Direction.IN:
            r.messages_in += n
            continue
        r.messages_out += n
        r.sends_failed += n if status == MessageStatus.FAILED else 0
        r.sends_unknown += n if status == MessageStatus.UNKNOWN else 0
        r.ai_replies += n if author == AuthorType.AI else 0
        if author == AuthorType.USER and user_id is not None and f.user_id in (None, user_id):
            by_user[user_id] += n  # with a teammate chosen, only their own replies
    names = dict(s.execute(select(User.id, User.name).where(User.id.in_(list(by_user) or [-1]))).all())
    r.replies_by = sorted(((names.get(uid, "A former teammate"), n) for uid, n in by_user.items()),
                          key=lambda item: (-item[1], item[0]))

    handoffs = s.execute(select(ConversationEvent.detail).join(
        Conversation, Conversation.id == ConversationEvent.conversation_id).where(
        ConversationEvent.kind == EventKind.HANDED_OFF, ConversationEvent.at >= f.start, ConversationEvent.at < f.end,
        *scope)).scalars().all()
    r.handoffs = len(handoffs)
    r.handoff_reasons = Counter(_reason(d) for d in handoffs).most_common(8)
    gap_scope = [KnowledgeGap.conversation_id.in_(select(Conversation.id).where(*scope))] if scope else []
    r.ai_corrected = s.scalar(select(func.count()).select_from(KnowledgeGap).where(
        KnowledgeGap.kind == GapKind.CORRECTED, KnowledgeGap.created_at >= f.start, KnowledgeGap.created_at < f.end,
        *gap_scope)) or 0
    earlier_ai = select(Message.id).where(Message.conversation_id == ConversationEvent.conversation_id,
                                          Message.author_type == AuthorType.AI, Message.direction == Direction.OUT,
                                          Message.sent_at <= ConversationEvent.at).exists()
    r.ai_then_handoff = s.scalar(select(func.count()).select_from(ConversationEvent).join(
        Conversation, Conversation.id == ConversationEvent.conversation_id).where(
        ConversationEvent.kind == EventKind.HANDED_OFF, ConversationEvent.at >= f.start, ConversationEvent.at < f.end,
        earlier_ai, *scope)) or 0

    # Per day and per hour of the reader: customer messages counted per UTC hour in the database
    # (at most 24 rows a day), each hour then placed in the reader's zone (a zone a half hour off
    # UTC counts an hour's messages at the hour it starts in).
    if s.get_bind().dialect.name == "postgresql":
        hour = func.to_char(func.date_trunc("hour", Message.sent_at), "YYYY-MM-DD HH24")
    else:
        hour = func.strftime("%Y-%m-%d %H", Message.sent_at)
    buckets = s.execute(select(hour, func.count()).where(*mscope, Message.direction == Direction.IN)
                        .group_by(hour)).all()
    heat = [[0] * 24 for _ in range(7)]
    per_day_in: Counter = Counter()
    for bucket, n in buckets:
        local = datetime.strptime(bucket, "%Y-%m-%d %H").replace(tzinfo=timezone.utc).astimezone(f.zone)
        heat[local.weekday()][local.hour] += n
        per_day_in[local.strftime("%Y-%m-%d")] += n
    r.heatmap = heat
    per_day_open = Counter(_local_day(created, f.zone) for created, _ in opened)
    day = f.start.replace(tzinfo=timezone.utc).astimezone(f.zone).date()
    last = (f.end - timedelta(microseconds=1)).replace(tzinfo=timezone.utc).astimezone(f.zone).date()
    while day <= last:
        key = day.isoformat()
        r.per_day.append((key, per_day_open.get(key, 0), per_day_in.get(key, 0)))
        day += timedelta(days=1)
    return r


def _reason(detail: str | None) -> str:
    """The first sentence of a hand-off note: its reason ("No answer in the knowledge base", …)."""
    text = (detail or "").strip().split("\n")[0]
    return (text.split(". ")[0][:80] or "No reason given").rstrip(".")


def humane(span: timedelta | None) -> str:
    if span is None:
        return "–"
    seconds = int(span.total_seconds())
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 86400:
        return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
    return f"{seconds // 86400} d {seconds % 86400 // 3600} h"

