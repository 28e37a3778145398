"""Reading the inbox: the filtered, keyset-paginated conversation list and one thread.

List queries walk an index on (filter column, last_activity_at): `ix_conversations_list`,
`ix_conversations_channel_activity`, `ix_conversations_assignee_activity` (see docs/inbox.md, "At scale").
A search term is matched by keloa_web/search/.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, selectinload

from keloa_web import access, search, window
from keloa_web.db import utcnow
from keloa_web.ids import parse_id
from keloa_web.models import (
    Agent, AuthorType, Channel, Conversation, ConversationStatus, Direction, Label, Message, MessageStatus, Reaction, User,
    conversation_labels,
)

PAGE_SIZE = 50
THREAD_LIMIT = 200
STATUSES = (*ConversationStatus, "all")


@dataclass
class Filters:
    status: str = ConversationStatus.OPEN
    unread: bool = False
    mine: bool = False
    channel_id: int | None = None
    label_id: int | None = None
    assignee: str = ""  # "" anyone, "none" unassigned ("mine" is its own flag)
    phase: str = ""  # a window phase of window.PHASE_FILTERS, or "" for any
    waiting: bool = False  # waiting longer than its account allows for a first reply (inbox/assignment.py)
    q: str = ""

    @classmethod
    def from_args(cls, args) -> "Filters":
        status = args.get("status", ConversationStatus.OPEN)
        channel = args.get("channel", "")
        return cls(status=status if status in STATUSES else ConversationStatus.OPEN, unread=args.get("unread") == "1",
                   mine=args.get("mine") == "1", channel_id=parse_id(channel), label_id=parse_id(args.get("label", "")),
                   assignee="none" if args.get("assignee") == "none" else "",
                   phase=args.get("window", "") if args.get("window", "") in window.PHASE_FILTERS else "",
                   waiting=args.get("waiting") == "1",
                   q=_printable(args.get("q") or "").strip()[:100])

    def as_args(self) -> dict:
        args = {"status": self.status, "q": self.q, "channel": self.channel_id or "", "label": self.label_id or "",
                "assignee": self.assignee, "window": self.phase,
                "unread": "1" if self.unread else "", "mine": "1" if self.mine else "",
                "waiting": "1" if self.waiting else ""}
        return {k: v for k, v in args.items() if v not in ("", None)}


def conditions(filters: Filters, user_id: int, session: Session, single: bool = False) -> list:
    """The list's conditions for `filters` (also what a saved view counts), within what `user_id` sees."""
    where = []
    if (allowed := access.conversation_condition(session, user_id)) is not None:
        where.append(allowed)
    if filters.status != "all":
        where.append(Conversation.status == filters.status)
    if filters.unread:
        where.append(Conversation.unread_count > 0)
    if filters.mine:
        where.append(Conversation.assignee_id == user_id)
    if filters.channel_id:
        where.append(Conversation.channel_id == filters.channel_id)
    if filters.assignee == "none":
        where.append(Conversation.assignee_id.is_(None))
    if filters.phase:
        where.append(window.phase_where(filters.phase, utcnow()))
    if filters.waiting:
        from keloa_web.inbox import assignment

        where.append(assignment.waiting_condition(session, utcnow()))
    if filters.label_id:
        where.append(Conversation.id.in_(select(conversation_labels.c.conversation_id)
                                         .where(conversation_labels.c.label_id == filters.label_id)))
    if filters.q:
        q = filters.q.lstrip("@") if filters.q.startswith("@") else filters.q
        if q:
            where.append(search.matching(session, q, single))
    return where


def _printable(text: str) -> str:
    """Search text without control characters: a NUL ends SQLite's FTS5 query string early (an
    error) and PostgreSQL refuses it in any text parameter; none can be typed in the search box."""
    return "".join(ch if ch.isprintable() or ch == " " else " " for ch in text)


def encode_cursor(conv: Conversation) -> str:
    return f"{conv.last_activity_at.isoformat()}_{conv.id}"


def decode_cursor(raw: str | None) -> tuple[datetime, int] | None:
    try:
        at, conv_id = (raw or "").rsplit("_", 1)
        conv = parse_id(conv_id)
        return (datetime.fromisoformat(at), conv) if conv else None
    except ValueError:
        return None


def conversation_page(session: Session, filters: Filters, user_id: int, before: str | None = None,
                      limit: int = PAGE_SIZE) -> tuple[list[Conversation], str | None]:
    """One page of conversations, newest activity first, and the cursor of the next page (or None)."""
    stmt = select(Conversation).where(*conditions(filters, user_id, session))
    cursor = decode_cursor(before)
    if cursor:
        at, conv_id = cursor
        stmt = stmt.where(or_(Conversation.last_activity_at < at,
                              and_(Conversation.last_activity_at == at, Conversation.id < conv_id)))
    rows = session.scalars(stmt.order_by(Conversation.last_activity_at.desc(), Conversation.id.desc())
                           .limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (encode_cursor(rows[-1]) if more and rows else None)


def matches(session: Session, conv_id: int, filters: Filters, user_id: int) -> bool:
    return session.scalar(select(Conversation.id).where(Conversation.id == conv_id,
                                                        *conditions(filters, user_id, session, single=True))) is not None


def active_teammates(session: Session) -> list[User]:
    return list(session.scalars(select(User).where(User.active.is_(True)).order_by(User.name)))


def all_labels(session: Session) -> list[Label]:
    return session.scalars(select(Label).order_by(func.lower(Label.name))).all()


def channels_by_id(session: Session, user_id: int) -> dict[int, Channel]:
    """The accounts `user_id` sees (the list's account filter and each row's account name)."""
    ids = access.visible_channel_ids(session, user_id)
    stmt = select(Channel).order_by(Channel.id)
    return {c.id: c for c in session.scalars(stmt if ids is None else stmt.where(Channel.id.in_(sorted(ids))))}


def unread_total(session: Session, user_id: int) -> int:
    allowed = access.conversation_condition(session, user_id)
    return session.scalar(select(func.count()).select_from(Conversation).where(
        Conversation.status == ConversationStatus.OPEN, Conversation.unread_count > 0,
        *([allowed] if allowed is not None else []))) or 0


@dataclass
class Thread:
    conversation: Conversation
    messages: list[Message]
    truncated: bool
    reactions: dict[str, list[Reaction]] = field(default_factory=dict)
    seen_message_id: int | None = None
    users: dict[int, str] = field(default_factory=dict)
    agents: dict[int, str] = field(default_factory=dict)
    history: bool = False  # older messages, not the live end of the conversation
    quoted: dict[str, Message] = field(default_factory=dict)  # messages that replies answer, by mid
    teammate_names: list[str] = field(default_factory=list)  # active teammates, for @mentions in notes

    def author(self, m: Message) -> str:
        if m.direction == Direction.NOTE and m.author_type == AuthorType.SYSTEM:  # left by an AI agent's job
            return self.agents.get(m.author_agent_id, "AI agent") + " (AI)" if m.author_agent_id else "Keloa"
        if m.direction == Direction.NOTE or m.author_type == AuthorType.USER:
            return self.users.get(m.author_user_id, "A former teammate")
        if m.author_type == AuthorType.AI:
            return self.agents.get(m.author_agent_id, "AI agent") + " (AI)"
        if m.author_type == AuthorType.INSTAGRAM:
            return "Sent from Instagram"
        return "Keloa"


def load_thread(session: Session, conv: Conversation, before: Message | None = None) -> Thread:
    """The latest THREAD_LIMIT messages, or (reading history) the ones just before `before`."""
    stmt = select(Message).where(Message.conversation_id == conv.id)
    if before is not None:
        stmt = stmt.where(or_(Message.sent_at < before.sent_at,
                              and_(Message.sent_at == before.sent_at, Message.id < before.id)))
    newest = session.scalars(stmt.options(selectinload(Message.attachments))
                             .order_by(Message.sent_at.desc(), Message.id.desc()).limit(THREAD_LIMIT + 1)).all()
    truncated = len(newest) > THREAD_LIMIT
    messages = list(reversed(newest[:THREAD_LIMIT]))
    thread = Thread(conv, messages, truncated, history=before is not None)
    mids = [m.mid for m in messages if m.mid]
    if mids:
        for r in session.scalars(select(Reaction).where(Reaction.channel_id == conv.channel_id,
                                                        Reaction.mid.in_(mids), Reaction.active.is_(True))):
            thread.reactions.setdefault(r.mid, []).append(r)
    if conv.customer_seen_at:
        covered = [m for m in messages if m.direction == Direction.OUT and m.status == MessageStatus.SENT
                   and m.sent_at <= conv.customer_seen_at]
        thread.seen_message_id = covered[-1].id if covered else None
    wanted = {m.reply_to_mid for m in messages if m.reply_to_mid}
    thread.quoted = {m.mid: m for m in messages if m.mid in wanted}
    if wanted - thread.quoted.keys():  # answered messages older than this page of the thread
        thread.quoted.update({m.mid: m for m in session.scalars(select(Message).where(
            Message.channel_id == conv.channel_id, Message.conversation_id == conv.id,
            Message.mid.in_(wanted - thread.quoted.keys())))})
    quoted_users = {m.author_user_id for m in thread.quoted.values() if m.author_user_id}
    user_ids = {m.author_user_id for m in messages if m.author_user_id} | quoted_users
    agent_ids = {m.author_agent_id for m in messages if m.author_agent_id}
    if user_ids:
        thread.users = dict(session.execute(select(User.id, User.name).where(User.id.in_(user_ids))).all())
    if agent_ids:
        thread.agents = dict(session.execute(select(Agent.id, Agent.name).where(Agent.id.in_(agent_ids))).all())
    if any(m.direction == Direction.NOTE and "@" in (m.text or "") for m in messages):
        thread.teammate_names = [u.name for u in access.members_with_access(session, conv.channel_id)]
    return thread
