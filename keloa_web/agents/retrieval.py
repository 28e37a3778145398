"""Knowledge retrieval with bm25s: one index per agent and language, rebuilt when its entries change.

Each entry's language is detected from its title and body (keloa_web/agents/language.py) and the
entry is indexed with that language's Snowball stemmer (PyStemmer) and stop words. A customer
message is matched against the entries in its own language; when its language is unclear (a short
"hola!") against every language the agent has entries in, each with its own stemming. A question in
a language the agent has no entries in matches nothing, so the agent hands off: there is no setting
to answer it from entries in another language.

Ranking is Lucene BM25. Raw BM25 scores depend on the size of the knowledge base, so the agent's
threshold (`Agent.min_score`, 0..1) is compared with a normalised **confidence**: the best entry's
BM25 score divided by the score an average-length entry would get if it contained each meaningful
word of the question once. Roughly: the share of the question's meaningful words (weighted by how
rare they are in the knowledge base) that the entry covers. 1.0 = everything the customer asked
about is there; 0.5 (the default) = about half.

What counts as a meaningful word:
* stop words and chat filler ("whats", "ur", "pls", "hiii", "quick q", "roughly") are dropped: they
  say nothing about the topic;
* question words that tell the intent ("how much", "when", "where", "long") are kept, but only when
  some entries contain them and others do not: then they tell entries apart, else they are dropped;
* asking for a price ("how much", "cost", "quanto custa", "cuánto cuesta") or a time ("what time",
  "a que horas") adds an intent marker that entries quoting amounts (£12, 9,50 €) or clock times
  (9:00, 18h) carry, so "how much is shipping" prefers "Shipping costs" to "Where we ship";
* any other word no entry contains counts with the weight of the rarest word, so a question about
  something the team never wrote about ("do you sell tea?") scores low instead of matching on its
  one common word. Numbers and words shorter than three letters do not count that way.
"""
from __future__ import annotations

import math
import re
import threading
import unicodedata
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from keloa_web.agents import language
from keloa_web.models import KnowledgeEntry

K1 = 1.5
TOP_K = 3

# English stop words: bm25s's own list is short, and chat questions carry many more words that say
# nothing about the topic ("hi, can you tell me what..."); they must not dilute the confidence.
CHAT_STOPWORDS = frozenset("""
a about also am an and any anyone are as at be been but by can could did do does doing for from get
got had has have hello hey hi i i'm if im in is it its just know let like me mine more my need no
not of ok okay on or our please pls plz so tell than thank thanks that the their them then there
these they this those thx to u up us want was we were what which who why will with
very would yes you your yours
""".split())

# Words of chat that carry no topic in any language: greetings, politeness, "ur", "quick q".
CHAT_FILLER = {
    "en": frozenset("""
    whats wheres hows whens whos thats theres ur ya ye yeah yep yup r pls plz pleas plse thx ty tysm
    thank thanks cheers quick q qq question questions roughly approx approximately around about
    hey hiya heya hellooo hello hi hii yo morning afternoon evening good great cool nice awesome lovely
    guys girl babe hun lol haha omg btw really maybe wondering wonder wondered ask asking
    sorry dont cant wont didnt doesnt isnt arent ive id ill youre hiya xx xxx dm also actually
    possible anything something someone somebody one ones still even already
    """.split()),
    "pt": frozenset("""
    oi olá ola bom boa dia tarde noite tudo bem obrigado obrigada obg brigado brigada pf favor
    por favor queria gostaria saber pergunta rápida só então aí vc vcs voces você vocês tb tbm
    também ok okay beleza
    """.split()),
    "es": frozenset("""
    hola buenas buenos días dias tardes noches gracias porfa favor vale ok okay pregunta rápida
    saber quería querría gustaría podría puedo puedes pueden podéis oye
    """.split()),
}

# Question words that tell what is asked; kept when they tell entries apart (see module docstring).
INTENT_WORDS = frozenset("how much many when where long soon late".split())

PRICE = "xprice"  # marker token: the question asks what something costs / the entry quotes amounts
TIME = "xclock"  # marker token: the question asks at what time / the entry gives clock times
_PRICE_ASKED = re.compile(
    r"\b(how much|how many pounds|cost|costs|costing|price|prices|pricing|priced|charge|charges|fee|fees|"
    r"expensive|cheap|quanto (?:custa|custam|é|e|fica|sai)|custa|custam|preço|preços|preco|precos|caro|barato|"
    r"cu[aá]nto (?:cuesta|cuestan|vale|valen|es|sale)|cuesta|cuestan|precio|precios)\b")
_PRICE_QUOTED = re.compile(r"[£€$]\s?\d|\d\s?(?:[£€$]|eur\b|euros?\b|reais\b|r\$)")
_TIME_ASKED = re.compile(
    r"\b(what time|which time|till when|until when|what hours|opening hours|a que horas|que horas|"
    r"a qu[eé] hora|qu[eé] hora|horario|horário|hor[aá]rios)\b")
_TIME_QUOTED = re.compile(r"\b\d{1,2}(?::\d{2}|h\d{0,2}\b|\s?(?:am|pm)\b)")

_WORD = re.compile(r"(?u)\b\w\w+\b")
_REPEATS = re.compile(r"(\w)\1{2,}")  # "hiii" -> "hi", "pleaseee" -> "please"
_HYPHENATED = re.compile(r"(?u)\b\w+(?:-\w+)+\b")  # "wi-fi" is also "wifi", "e-mail" "email"


def _fold(word: str) -> str:
    """`word` without accents: customers type "cuanto" for "cuánto" and "envio" for "envío"."""
    return "".join(c for c in unicodedata.normalize("NFD", word) if unicodedata.category(c) != "Mn")


def _stopwords(lang: str) -> frozenset[str]:
    import bm25s.stopwords as sw

    lists = {"en": sw.STOPWORDS_EN, "pt": sw.STOPWORDS_PORTUGUESE, "es": sw.STOPWORDS_SPANISH}
    words = set(lists.get(lang, ())) | CHAT_FILLER.get(lang, frozenset())
    if lang == "en":
        words |= CHAT_STOPWORDS
    words -= INTENT_WORDS
    return frozenset(_fold(w) for w in words)


_STOPWORDS: dict[str, frozenset[str]] = {}
_STEMMERS: dict[str, object] = {}
_ANY_FILLER = frozenset(_fold(w) for words in CHAT_FILLER.values() for w in words)


def _lang_tools(lang: str):
    if lang not in _STEMMERS:
        import Stemmer

        _STOPWORDS[lang] = _stopwords(lang)
        _STEMMERS[lang] = Stemmer.Stemmer(language.STEMMERS[lang])
    return _STOPWORDS[lang], _STEMMERS[lang]


@dataclass
class _Word:
    stem: str
    intent: bool = False  # a question word: counts only where it tells entries apart
    counts_unknown: bool = True  # when no entry has it, it lowers the confidence (content-like word)


def _words(text: str, lang: str, query: bool) -> list[_Word]:
    stop, stemmer = _lang_tools(lang)
    lowered = _REPEATS.sub(r"\1", text.lower())
    lowered += "".join(" " + m.replace("-", "") for m in _HYPHENATED.findall(lowered))
    out = []
    for raw in _WORD.findall(lowered):
        folded = _fold(raw)
        if folded in INTENT_WORDS and query:
            out.append(_Word(folded, intent=True))
            continue
        if folded in stop or (query and folded in _ANY_FILLER):
            continue
        stem = _fold(stemmer.stemWord(raw))
        if lang == "en" and folded.endswith(("er", "ers")) and stem == folded[: folded.rindex("er")]:
            stem = folded.removesuffix("s")  # a "customer" is not "customs", nor a "voucher" "vouch"
        out.append(_Word(stem, counts_unknown=len(folded) >= 3 and not folded.isdigit()))
    if query:
        if _PRICE_ASKED.search(lowered):
            out.append(_Word(PRICE, intent=True))
        if _TIME_ASKED.search(lowered):
            out.append(_Word(TIME, intent=True))
    else:
        if _PRICE_QUOTED.search(lowered):
            out.append(_Word(PRICE))
        if _TIME_QUOTED.search(lowered):
            out.append(_Word(TIME))
    return out


def _tokens(text: str, lang: str) -> list[str]:
    return [w.stem for w in _words(text, lang, query=False)]


@dataclass
class Hit:
    entry_id: int
    title: str
    body: str
    confidence: float


@dataclass
class _LangIndex:
    retriever: object
    entries: list[tuple[int, str, str]]
    doc_freq: dict[str, int]


@dataclass
class _Index:
    key: tuple
    by_lang: dict[str, _LangIndex] = field(default_factory=dict)


_cache: dict[int, _Index] = {}
_lock = threading.Lock()


def _cache_key(session: Session, agent_id: int) -> tuple:
    row = session.execute(
        select(func.count(KnowledgeEntry.id), func.max(KnowledgeEntry.id), func.max(KnowledgeEntry.updated_at))
        .where(KnowledgeEntry.agent_id == agent_id)
    ).one()
    return tuple(row)


def _build_lang(entries: list[tuple[int, str, str]], lang: str) -> _LangIndex:
    import bm25s

    corpus = [_tokens(f"{title}\n{body}", lang) or ["\u2205"] for _id, title, body in entries]
    retriever = bm25s.BM25(k1=K1)
    retriever.index(corpus, show_progress=False)
    doc_freq: dict[str, int] = {}
    for doc in corpus:
        for token in set(doc):
            doc_freq[token] = doc_freq.get(token, 0) + 1
    return _LangIndex(retriever, entries, doc_freq)


def _build(session: Session, agent_id: int, key: tuple) -> _Index | None:
    entries = [
        (e.id, e.title, e.body)
        for e in session.scalars(select(KnowledgeEntry).where(KnowledgeEntry.agent_id == agent_id)
                                 .order_by(KnowledgeEntry.id))
    ]
    if not entries:
        return None
    grouped: dict[str, list[tuple[int, str, str]]] = {}
    for entry in entries:
        grouped.setdefault(language.of_entry(f"{entry[1]}\n{entry[2]}"), []).append(entry)
    return _Index(key, {lang: _build_lang(group, lang) for lang, group in grouped.items()})


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


def _search_lang(index: _LangIndex, question: str, lang: str, k: int) -> list[Hit]:
    n_docs = len(index.entries)
    seen: dict[str, _Word] = {}
    for word in _words(question, lang, query=True):
        seen.setdefault(word.stem, word)
    query = []
    for stem, word in seen.items():
        df = index.doc_freq.get(stem, 0)
        if word.intent and not 0 < df < n_docs and n_docs > 1:
            continue  # an intent word no entry (or every entry) has tells nothing apart
        if word.intent and df == 0:
            continue
        if df == 0 and not word.counts_unknown:
            continue
        query.append(stem)
    known = [t for t in query if t in index.doc_freq]
    if not known:
        return []
    rarest = _idf(n_docs, 0)
    ideal = sum(_idf(n_docs, index.doc_freq[t]) if t in index.doc_freq else rarest for t in query) / (1 + K1)
    scores = index.retriever.get_scores(known)
    ranked = sorted(range(n_docs), key=lambda i: -float(scores[i]))[:k]
    hits = []
    for i in ranked:
        if float(scores[i]) <= 0:
            break
        entry_id, title, body = index.entries[i]
        hits.append(Hit(entry_id, title, body, round(min(1.0, float(scores[i]) / ideal), 3)))
    return hits


def search(session: Session, agent_id: int, question: str, k: int = TOP_K) -> list[Hit]:
    """The agent's best entries for `question`, best first, with their confidence (0..1)."""
    index = _index(session, agent_id)
    if index is None or not question.strip():
        return []
    lang = language.detect(question)
    if lang is not None:
        langs = [lang] if lang in index.by_lang else []  # no entry in the customer's language: hand off
    else:
        langs = list(index.by_lang)
    parts = [question] + [p for p in _CLAUSES.split(question) if p.strip()]
    best: dict[int, Hit] = {}
    for part in dict.fromkeys(parts):
        for lg in langs:
            for hit in _search_lang(index.by_lang[lg], part, lg, k):
                if hit.entry_id not in best or hit.confidence > best[hit.entry_id].confidence:
                    best[hit.entry_id] = hit
    return sorted(best.values(), key=lambda h: -h.confidence)[:k]


# Several questions in one message ("do you take paypal and how long does it take to the uk?") are
# also matched one by one: each entry keeps its best confidence over the whole and the parts.
_CLAUSES = re.compile(r"[?!.;]+|\band\b|\be\b|\by\b", re.IGNORECASE)
