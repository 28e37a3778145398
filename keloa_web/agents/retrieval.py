"""Knowledge retrieval with bm25s: one index per agent, rebuilt when its entries change.

Ranking is bm25s (Lucene BM25, English Snowball stemming). Raw BM25 scores depend on the size of
the knowledge base, so the agent's threshold (`Agent.min_score`, 0..1) is compared with a
normalised **confidence**: the best entry's BM25 score divided by the score an average-length entry
would get if it contained each meaningful word of the question once. Roughly: the share of the
question's meaningful words (weighted by how rare they are in the knowledge base) that the entry
covers. 1.0 = everything the customer asked about is there; 0.5 (the default) = about half.
Words no entry contains count with the weight of the rarest word, so a question about something the
team never wrote about ("do you sell tea?") scores low instead of matching on its one common word.
"""
from __future__ import annotations

import math
import threading
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from keloa_web.models import KnowledgeEntry

K1 = 1.5
TOP_K = 3
# bm25s's own English list is short; chat questions carry many more words that say nothing
# about the topic ("hi, can you tell me what..."), and they must not dilute the confidence.
CHAT_STOPWORDS = frozenset("""
a about also am an and any anyone are as at be been but by can could did do does doing for from get
got had has have hello hey hi how i i'm if im in is it its just know let like many me mine more much my need no
not of ok okay on or our please pls plz so tell than thank thanks that the their them then there
these they this those thx to u up us want was we were what when where which who why will with
very would yes you your yours
""".split())


@dataclass
class Hit:
    entry_id: int
    title: str
    body: str
    confidence: float


@dataclass
class _Index:
    key: tuple
    retriever: object
    entries: list[tuple[int, str, str]]
    doc_freq: dict[str, int]


_cache: dict[int, _Index] = {}
_lock = threading.Lock()


def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


def _tokens(texts: list[str]) -> list[list[str]]:
    import bm25s

    return bm25s.tokenize(texts, stopwords=list(CHAT_STOPWORDS), stemmer=_stemmer(), return_ids=False,
                          show_progress=False)


def _cache_key(session: Session, agent_id: int) -> tuple:
    row = session.execute(
        select(func.count(KnowledgeEntry.id), func.max(KnowledgeEntry.id), func.max(KnowledgeEntry.updated_at))
        .where(KnowledgeEntry.agent_id == agent_id)
    ).one()
    return tuple(row)


def _build(session: Session, agent_id: int, key: tuple) -> _Index | None:
    import bm25s

    entries = [
        (e.id, e.title, e.body)
        for e in session.scalars(select(KnowledgeEntry).where(KnowledgeEntry.agent_id == agent_id)
                                 .order_by(KnowledgeEntry.id))
    ]
    if not entries:
        return None
    corpus = _tokens([f"{title}\n{body}" for _id, title, body in entries])
    retriever = bm25s.BM25(k1=K1)
    retriever.index(corpus, show_progress=False)
    doc_freq: dict[str, int] = {}
    for doc in corpus:
        for token in set(doc):
            doc_freq[token] = doc_freq.get(token, 0) + 1
    return _Index(key, retriever, entries, doc_freq)


def _index(session: Session, agent_id: int) -> _Index | None:
    key = _cache_key(session, agent_id)
    with _lock:
        cached = _cache.get(agent_id)
        if cached is not None and cached.key == key:
            return cached
    built = _build(session, agent_id, key)
    with _lock:
        if built is None:
            _cache.pop(agent_id, None)
        else:
            _cache[agent_id] = built
    return built


def _idf(n_docs: int, df: int) -> float:
    return math.log(1 + (n_docs - df + 0.5) / (df + 0.5))  # bm25s "lucene" idf


def search(session: Session, agent_id: int, question: str, k: int = TOP_K) -> list[Hit]:
    """The agent's best entries for `question`, best first, with their confidence (0..1)."""
    index = _index(session, agent_id)
    if index is None or not question.strip():
        return []
    query = list(dict.fromkeys(_tokens([question])[0]))
    known = [t for t in query if t in index.doc_freq]
    if not known:
        return []
    n_docs = len(index.entries)
    ideal = sum(_idf(n_docs, index.doc_freq.get(t, 0)) for t in query) / (1 + K1)
    scores = index.retriever.get_scores(known)
    ranked = sorted(range(n_docs), key=lambda i: -float(scores[i]))[:k]
    hits = []
    for i in ranked:
        if float(scores[i]) <= 0:
            break
        entry_id, title, body = index.entries[i]
        hits.append(Hit(entry_id, title, body, round(min(1.0, float(scores[i]) / ideal), 3)))
    return hits
