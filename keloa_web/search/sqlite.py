"""Search on SQLite: FTS5 tables with the trigram tokenizer, `contacts_fts` (names and @usernames)
and `messages_fts` (message text), kept in step by triggers (migrations 0003, 0005). A trigram
needs three characters: shorter terms are tested with LIKE."""
from __future__ import annotations

from sqlalchemy import Integer, column, text
from sqlalchemy.orm import Session

from keloa_web.search.common import contacts_like, like

EXACT_PROBE = True  # `probe` answers with messages whose text contains the term, nothing else


def _phrase(q: str) -> str:
    return '"' + q.replace('"', '""') + '"'


def _word_pairs(q: str) -> list[str]:
    """The trigrams of `q` that straddle a space ("r g" in "voucher gift"): pairs of words are far
    rarer than the trigrams inside common words."""
    q = q.lower()
    return sorted({q[i:i + 3] for i in range(len(q) - 2)
                   if q[i + 1] == " " and q[i] != " " and q[i + 2] != " "})


def people(session: Session, q: str, single: bool, limit: int):
    if len(q) < 3:
        return contacts_like(q)
    return text("SELECT rowid FROM contacts_fts WHERE contacts_fts MATCH :phrase").bindparams(
        phrase=_phrase(q)).columns(column("rowid", Integer))


def probe(session: Session, q: str, n: int) -> list[int]:
    """One word: an FTS5 phrase query. Several: FTS5 finds the messages holding every word-pair
    trigram, and LIKE confirms the exact text. A phrase query checks the positions of every trigram
    of every candidate, which for common words costs several times more (bench/bench_inbox.py)."""
    pairs = _word_pairs(q)
    if not pairs:
        stmt = text("SELECT rowid FROM messages_fts WHERE messages_fts MATCH :phrase LIMIT :n").bindparams(
            phrase=_phrase(q), n=n)
    else:
        stmt = text("SELECT m.id FROM messages m WHERE m.id IN (SELECT rowid FROM messages_fts WHERE messages_fts "
                    "MATCH :pairs) AND m.text LIKE :pattern ESCAPE '\\' LIMIT :n").bindparams(
            pairs=" AND ".join(_phrase(p) for p in pairs), pattern=like(q), n=n)
    return session.scalars(stmt).all()


def per_conversation(own):
    """SQLite already tests a correlated EXISTS row by row."""
    return own
