"""Inbox search: the conversations a term finds by contact name, @username or message text.

One way of searching (README, "Inbox and replies" → "At scale"), answered by each database's own
indexes: SQLite's FTS5 trigram tables (sqlite.py), PostgreSQL's pg_trgm GIN indexes (postgres.py).
`matching()` picks the implementation by the session's dialect, so no caller branches on it. Each
implementation module provides:

- `people(session, q, single, limit)`: ids of contacts whose name or @username contains `q`;
- `probe(session, q, n)`: up to `n` ids of messages containing `q` (`EXACT_PROBE`: or candidates);
- `per_conversation(stmt)`: the messages subquery of one conversation, as that database walks it.

The indexes are kept by the databases themselves (SQLite's triggers, PostgreSQL's index
expression), so writing a message needs nothing from here.
"""
from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from keloa_web.models import Conversation, Message
from keloa_web.search import postgres, sqlite
from keloa_web.search.common import message_like

# A search probes the trigram index for up to this many matching messages. Fewer: the conversations
# of exactly those messages are listed. More (a common word): the list is walked newest first and
# each conversation is tested on its own messages, so the page fills after a few dozen tests
# instead of gathering a third of the database. See README, "Inbox and replies".
PROBE_LIMIT = 2000

_BY_DIALECT = {"sqlite": sqlite, "postgresql": postgres}


def matching(session: Session, q: str, single: bool = False):
    """Condition on Conversation: its contact's name or @username, or one of its messages (not
    deleted), contains `q`. `single`: it tests one conversation (the live poll), so no index is
    asked first."""
    found = _BY_DIALECT[session.get_bind().dialect.name]
    return or_(Conversation.contact_id.in_(found.people(session, q, single, PROBE_LIMIT)),
               _text_match(session, found, q, single))


def _in_own_messages(found, q: str):
    """This conversation has a message containing `q`: a walk over its messages (by conversation index)."""
    own = select(Message.id).where(Message.conversation_id == Conversation.id, Message.deleted.is_(False),
                                   message_like(q))
    return found.per_conversation(own).exists()


def _text_match(session: Session, found, q: str, single: bool):
    if single or len(q) < 3:  # the live poll's one conversation, or a term shorter than a trigram
        return _in_own_messages(found, q)  # (no index helps): the conversations' own messages are tested
    probe = found.probe(session, q, PROBE_LIMIT + 1)
    if len(probe) > PROBE_LIMIT:
        return _in_own_messages(found, q)
    confirm = [] if found.EXACT_PROBE else [message_like(q)]
    conversation_ids = session.scalars(select(Message.conversation_id).distinct().where(
        Message.id.in_(probe), Message.deleted.is_(False), *confirm)).all() if probe else []
    return Conversation.id.in_(conversation_ids)
