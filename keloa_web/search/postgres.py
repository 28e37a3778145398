"""Search on PostgreSQL: pg_trgm GIN indexes of contact names, @usernames and message text
(migration 0007). Where pg_trgm could not be created the same queries read the tables."""
from __future__ import annotations

from sqlalchemy import func, literal_column, select
from sqlalchemy.orm import Session

from keloa_web.models import Message
from keloa_web.search.common import contacts_like, like

EXACT_PROBE = False  # `probe` answers with candidates: the caller confirms them on the text itself


def people(session: Session, q: str, single: bool, limit: int):
    """PostgreSQL cannot walk the list by an index while testing "contact in (subquery) or ...": a
    name few contacts have is looked up first, and their conversations by ix_conversations_contact."""
    found = contacts_like(q)
    if single or len(q) < 3:
        return found
    ids = session.scalars(found.limit(limit + 1)).all()
    return found if len(ids) > limit else ids


def probe(session: Session, q: str, n: int) -> list[int]:
    """ILIKE on the text with its spaces as "q", which the trigram index answers with the word pairs
    among its trigrams. One condition, not the plain ILIKE too: the planner would take the two for
    independent, think a common word rare, and gather all its matches by the index instead of
    reading the table until it has `n`, which comes soon."""
    return session.scalars(select(Message.id).where(
        _spaces_as_q(Message.text).ilike(like(q).replace(" ", "q"), escape="\\")).limit(n)).all()


def _spaces_as_q(column):
    """The expression the trigram index of messages holds (migration 0007): spaces become "q", so
    the trigrams across two words are in the index too. Written out as constants: a prepared
    statement's generic plan would not match the index's expression with parameters."""
    return func.translate(column, literal_column("' '"), literal_column("'q'"))


def per_conversation(own):
    """OFFSET 0 keeps the test per conversation, so the walk stops when the page is full; without
    it PostgreSQL gathers every matching message of the database into a hash first (a third of it,
    for a common word)."""
    return own.offset(0)
