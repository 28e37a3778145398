"""Reading the inbox: the filtered, keyset-paginated conversation list and one thread.

List queries walk an index on (filter column, last_activity_at): `ix_conversations_list`,
`ix_conversations_channel_activity`, `ix_conversations_assignee_activity` (see docs/inbox.md, "At scale").
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Integer, and_, column, func, literal_column, or_, select, text
from sqlalchemy.orm import Session, selectinload

from keloa_web.ids import parse_id
from keloa_web.models import (
    Agent, AuthorType, Channel, Contact, Conversation, ConversationStatus, Direction, Message, MessageStatus, Reaction,
    User,
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
    q: str = ""

    @classmethod
    def from_args(cls, args) -> "Filters":
        status = args.get("status", ConversationStatus.OPEN)
        channel = args.get("channel", "")
        return cls(status=status if status in STATUSES else ConversationStatus.OPEN, unread=args.get("unread") == "1",
                   mine=args.get("mine") == "1", channel_id=parse_id(channel),
                   q=_printable(args.get("q") or "").strip()[:100])

    def as_args(self) -> dict:
        args = {"status": self.status, "q": self.q, "channel": self.channel_id or "",
                "unread": "1" if self.unread else "", "mine": "1" if self.mine else ""}
        return {k: v for k, v in args.items() if v not in ("", None)}


def _like(q: str) -> str:
    return "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


# A search probes the trigram index for up to this many matching messages. Fewer: the conversations
# of exactly those messages are listed. More (a common word): the list is walked newest first and
# each conversation is tested on its own messages, so the page fills after a few dozen tests
# instead of gathering a third of the database. See docs/inbox.md, "At scale".
PROBE_LIMIT = 2000


def _phrase(q: str) -> str:
    return '"' + q.replace('"', '""') + '"'


def _people(session: Session, q: str, single: bool = False):
    """Ids of contacts whose name or @username contains `q` (trigram indexes: SQLite 0005, PostgreSQL 0007)."""
    if _dialect(session) == "sqlite" and len(q) >= 3:
        return text("SELECT rowid FROM contacts_fts WHERE contacts_fts MATCH :phrase").bindparams(
            phrase=_phrase(q)).columns(column("rowid", Integer))
    pattern = _like(q)
    people = select(Contact.id).where(or_(Contact.name.ilike(pattern, escape="\\"),
                                          Contact.username.ilike(pattern, escape="\\")))
    if single or _dialect(session) == "sqlite" or len(q) < 3:
        return people
    # PostgreSQL cannot walk the list by an index while testing "contact in (subquery) or ...":
    # a name few contacts have is looked up first, and their conversations by ix_conversations_contact.
    found = session.scalars(people.limit(PROBE_LIMIT + 1)).all()
    return people if len(found) > PROBE_LIMIT else found


def _in_own_messages(session: Session, q: str):
    """This conversation has a message containing `q`: a walk over its messages (by conversation index).

    PostgreSQL would rather gather every matching message of the database into a hash first (a
    third of it, for a common word); OFFSET 0 keeps the test per conversation, so the walk stops
    when the page is full.
    """
    own = select(Message.id).where(Message.conversation_id == Conversation.id, Message.deleted.is_(False),
                                   Message.text.ilike(_like(q), escape="\\"))
    return (own if _dialect(session) == "sqlite" else own.offset(0)).exists()


def _word_pairs(q: str) -> list[str]:
    """The trigrams of `q` that straddle a space ("r g" in "voucher gift"): pairs of words are far
    rarer than the trigrams inside common words."""
    q = q.lower()
    return sorted({q[i:i + 3] for i in range(len(q) - 2)
                   if q[i + 1] == " " and q[i] != " " and q[i + 2] != " "})


def _probe(session: Session, q: str, n: int) -> list[int]:
    """Up to `n` ids of messages containing `q`.

    SQLite, one word: an FTS5 phrase query. Several: FTS5 finds the messages holding every
    word-pair trigram, and LIKE confirms the exact text. A phrase query checks the positions of
    every trigram of every candidate, which for common words costs several times more
    (bench/bench_inbox.py). PostgreSQL: ILIKE on the text with its spaces as "q", which the
    pg_trgm index answers with the word pairs among its trigrams (migration 0007); the caller
    confirms on the text itself. One condition, not both here: the planner would take the two for
    independent, think a common word rare, and gather all its matches by the index instead of
    reading the table until it has `n`, which comes soon.
    """
    if _dialect(session) != "sqlite":  # candidates: `_text_match` confirms them on the text itself
        return session.scalars(select(Message.id).where(
            _word_pairs_pg(Message.text).ilike(_like(q).replace(" ", "q"), escape="\\")).limit(n)).all()
    pairs = _word_pairs(q)
    if not pairs:
        stmt = text("SELECT rowid FROM messages_fts WHERE messages_fts MATCH :phrase LIMIT :n").bindparams(
            phrase=_phrase(q), n=n)
    else:
        stmt = text("SELECT m.id FROM messages m WHERE m.id IN (SELECT rowid FROM messages_fts WHERE messages_fts "
                    "MATCH :pairs) AND m.text LIKE :pattern ESCAPE '\\' LIMIT :n").bindparams(
            pairs=" AND ".join(_phrase(p) for p in pairs), pattern=_like(q), n=n)
    return session.scalars(stmt).all()


def _word_pairs_pg(column):
    """The expression PostgreSQL's trigram index of messages holds (migration 0007): spaces become
    "q", so the trigrams across two words are in the index too. Written out as constants: a
    prepared statement's generic plan would not match the index's expression with parameters."""
    return func.translate(column, literal_column("' '"), literal_column("'q'"))


def _text_match(session: Session, q: str, single: bool):
    """Condition on Conversation: some message of it (not deleted) contains `q`."""
    if single or len(q) < 3:  # the live poll's one conversation, or a term shorter than a trigram
        return _in_own_messages(session, q)  # (no index helps): the conversations' own messages are tested
    probe = _probe(session, q, PROBE_LIMIT + 1)
    if len(probe) > PROBE_LIMIT:
        return _in_own_messages(session, q)
    confirm = [] if _dialect(session) == "sqlite" else [Message.text.ilike(_like(q), escape="\\")]
    conversation_ids = session.scalars(select(Message.conversation_id).distinct().where(
        Message.id.in_(probe), Message.deleted.is_(False), *confirm)).all() if probe else []
    return Conversation.id.in_(conversation_ids)


def _where(filters: Filters, user_id: int, session: Session, single: bool = False) -> list:
    where = []
    if filters.status != "all":
        where.append(Conversation.status == filters.status)
    if filters.unread:
        where.append(Conversation.unread_count > 0)
    if filters.mine:
        where.append(Conversation.assignee_id == user_id)
    if filters.channel_id:
        where.append(Conversation.channel_id == filters.channel_id)
    if filters.q:
        q = filters.q.lstrip("@") if filters.q.startswith("@") else filters.q
        if q:
            where.append(or_(Conversation.contact_id.in_(_people(session, q, single)),
                             _text_match(session, q, single)))
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
    stmt = select(Conversation).where(*_where(filters, user_id, session))
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
                                                        *_where(filters, user_id, session, single=True))) is not None


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def channels_by_id(session: Session) -> dict[int, Channel]:
    return {c.id: c for c in session.scalars(select(Channel).order_by(Channel.id))}


def unread_total(session: Session, user_id: int) -> int:
    from sqlalchemy import func

    return session.scalar(select(func.count()).select_from(Conversation).where(
        Conversation.status == ConversationStatus.OPEN, Conversation.unread_count > 0)) or 0


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
    return thread
