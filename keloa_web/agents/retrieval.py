"""Knowledge retrieval: what each entry says (BM25) and what it means (embeddings), fused.

Two rankings of an agent's entries for one customer message, in the customer's language:

* **lexical**: Lucene BM25 (bm25s) over each entry's title, body and example questions, stemmed and
  stop-worded in the entry's language (PyStemmer's Snowball stemmers). Its score is normalised into a
  confidence: the best entry's score divided by the score an average-length entry would get if it
  contained each meaningful word of the question once, roughly the share of the question's
  meaningful words (weighted by rarity) the entry covers;
* **semantic**: the cosine similarity of the message's embedding to the entry's stored vectors (its
  title and body, its title, each example question), the best of them (keloa_web/agents/embeddings.py).

The **confidence** an agent's threshold (`Agent.min_score`) is compared with is their weighted sum,
`SEMANTIC_WEIGHT` x semantic (above `SEMANTIC_FLOOR`, rescaled to 0..1) + the rest x lexical, scaled
by `CONFIDENCE_SCALE`: all three calibrated on bench/eval's three businesses so that one threshold,
0.5 (the default), serves them all (`python -m bench.eval.run --calibrate`; the agent also needs its
best entry to lead the next by backends.MIN_MARGIN). Without the embedding model, the confidence is
the lexical one alone and the agent page says so.

Language: each entry's language is detected when it is saved (keloa_web/agents/language.py). A
message is matched against the entries in its own language only; when its language is unclear (a
short "ok!") against every language the agent has entries in. A question in a language the agent
has no entries in matches nothing, so the agent hands off: it never answers a Portuguese question
from an English entry.

What counts as a meaningful word for BM25:
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

Several questions in one message ("do you take paypal? and how long to the uk?") are also ranked
part by part (`parts`): the agent answers each part it knows (keloa_web/agents/backends.py).
"""
from __future__ import annotations

import math
import re
import threading
import unicodedata
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

import numpy as np

from keloa_web.agents import embeddings, language
from keloa_web.models import KnowledgeEntry

K1 = 1.5
TOP_K = 3
# Calibrated on bench/eval (python -m bench.eval.run --calibrate): the share of the confidence the
# semantic similarity carries, and the cosine below which it counts as no similarity at all.
SEMANTIC_WEIGHT = 0.5
SEMANTIC_FLOOR = 0.3
# The fused score is multiplied by this so that the calibrated threshold is 0.50, the agents' default.
CONFIDENCE_SCALE = 0.5 / 0.44

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

    lists = {"en": sw.STOPWORDS_EN, "pt": sw.STOPWORDS_PORTUGUESE, "es": sw.STOPWORDS_SPANISH,
             "fr": sw.STOPWORDS_FRENCH, "de": sw.STOPWORDS_GERMAN, "it": sw.STOPWORDS_ITALIAN}
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
    confidence: float  # what the agent's threshold is compared with (0..1)
    lexical: float = 0.0  # BM25's normalised confidence (0..1)
    semantic: float = 0.0  # the best cosine similarity to the entry's vectors (-1..1), 0 without the model
    language: str = language.DEFAULT


@dataclass
class _Entry:
    id: int
    title: str
    body: str
    language: str


@dataclass
class _LangIndex:
    retriever: object
    positions: list[int]  # into _Index.entries
    doc_freq: dict[str, int]


@dataclass
class _Index:
    key: tuple
    entries: list[_Entry]
    by_lang: dict[str, _LangIndex] = field(default_factory=dict)
    vectors: np.ndarray | None = None  # every entry's vectors stacked, one row each
    owners: np.ndarray | None = None  # the entry position of each row of `vectors`


_cache: dict[int, _Index] = {}
_lock = threading.Lock()


def entry_texts(title: str, body: str, examples: list[str]) -> list[str]:
    """What an entry's vectors embed, in order: title and body, the title, each example question."""
    return [f"{title}. {body}", title, *examples]


def prepare(entry: KnowledgeEntry) -> None:
    """Set a saved entry's language and vectors (called whenever its words change)."""
    entry.language = language.of_entry(f"{entry.title}\n{entry.body}")
    vectors = embeddings.encode(entry_texts(entry.title, entry.body, entry.example_list))
    entry.vectors = embeddings.pack(vectors) if vectors is not None else None
    entry.vectors_model = embeddings.MODEL_NAME if vectors is not None else None


def _cache_key(session: Session, agent_id: int) -> tuple:
    row = session.execute(
        select(func.count(KnowledgeEntry.id), func.max(KnowledgeEntry.id), func.max(KnowledgeEntry.updated_at))
        .where(KnowledgeEntry.agent_id == agent_id)
    ).one()
    return (*tuple(row), embeddings.available())


def _build_lang(docs: list[str], positions: list[int], lang: str) -> _LangIndex:
    import bm25s

    corpus = [_tokens(doc, lang) or ["\u2205"] for doc in docs]
    retriever = bm25s.BM25(k1=K1)
    retriever.index(corpus, show_progress=False)
    doc_freq: dict[str, int] = {}
    for doc in corpus:
        for token in set(doc):
            doc_freq[token] = doc_freq.get(token, 0) + 1
    return _LangIndex(retriever, positions, doc_freq)


def _build(session: Session, agent_id: int, key: tuple) -> _Index | None:
    rows = session.scalars(select(KnowledgeEntry).where(KnowledgeEntry.agent_id == agent_id)
                           .order_by(KnowledgeEntry.id)).all()
    if not rows:
        return None
    entries, docs, blocks, owners = [], [], [], []
    use_vectors = embeddings.available()
    for position, row in enumerate(rows):
        lang = row.language or language.of_entry(f"{row.title}\n{row.body}")
        entries.append(_Entry(row.id, row.title, row.body, lang))
        docs.append("\n".join([row.title, row.body, *row.example_list]))
        if use_vectors:
            # Entries saved before vectors existed, or by another model, are embedded here (in memory;
            # saving the entry stores them).
            stored = embeddings.unpack(row.vectors) if row.vectors_model == embeddings.MODEL_NAME else None
            if stored is None:
                stored = embeddings.encode(entry_texts(row.title, row.body, row.example_list))
            blocks.append(stored)
            owners += [position] * len(stored)
    grouped: dict[str, list[int]] = {}
    for position, entry in enumerate(entries):
        grouped.setdefault(entry.language, []).append(position)
    index = _Index(key, entries, {lang: _build_lang([docs[p] for p in positions], positions, lang)
                                  for lang, positions in grouped.items()})
    if use_vectors:
        index.vectors = np.vstack(blocks)
        index.owners = np.asarray(owners)
    return index


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


def _lexical(index: _LangIndex, question: str, lang: str) -> dict[int, float]:
    """Entry position -> BM25's normalised confidence, for the entries of one language."""
    n_docs = len(index.positions)
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
        return {}
    rarest = _idf(n_docs, 0)
    ideal = sum(_idf(n_docs, index.doc_freq[t]) if t in index.doc_freq else rarest for t in query) / (1 + K1)
    scores = index.retriever.get_scores(known)
    return {index.positions[i]: min(1.0, float(scores[i]) / ideal) for i in range(n_docs) if float(scores[i]) > 0}


def languages_for(index: _Index, text: str) -> list[str]:
    """The languages of entries `text` is matched against (none: the agent has none in its language)."""
    among = frozenset(index.by_lang) | {language.DEFAULT}
    lang = language.detect(text, among)
    if lang is not None:
        return [lang] if lang in index.by_lang else []
    return list(index.by_lang)


def _rank(index: _Index, text: str, langs: list[str], k: int) -> list[Hit]:
    n = len(index.entries)
    lexical = np.zeros(n)
    allowed = np.zeros(n, dtype=bool)
    for lang in langs:
        allowed[index.by_lang[lang].positions] = True
        for position, score in _lexical(index.by_lang[lang], text, lang).items():
            lexical[position] = score
    semantic = np.zeros(n)
    if index.vectors is not None and allowed.any():
        query = embeddings.encode([text])[0]
        similarities = index.vectors @ query
        semantic[:] = -1.0
        np.maximum.at(semantic, index.owners, similarities)
    if index.vectors is not None:
        lifted = np.clip((semantic - SEMANTIC_FLOOR) / (1 - SEMANTIC_FLOOR), 0, 1)
        confidence = np.minimum(1.0, CONFIDENCE_SCALE * (SEMANTIC_WEIGHT * lifted + (1 - SEMANTIC_WEIGHT) * lexical))
    else:
        confidence = lexical
    confidence = np.where(allowed, confidence, 0.0)
    ranked = [int(i) for i in np.argsort(-confidence, kind="stable")[:k] if confidence[i] > 0]
    return [Hit(index.entries[i].id, index.entries[i].title, index.entries[i].body,
                round(float(confidence[i]), 2), round(float(lexical[i]), 3),
                round(float(semantic[i]) if index.vectors is not None else 0.0, 3), index.entries[i].language)
            for i in ranked]


# Several questions in one message are also matched one by one: split at ?, !, ., ; and the word
# "and" (Portuguese "e", Spanish "y") between clauses.
_CLAUSES = re.compile(r"[?!.;]+|\band\b|\be\b|\by\b", re.IGNORECASE)
MIN_PART_WORDS = 2
STEMMER_LANGUAGES = frozenset(language.STEMMERS)


def _says_something(piece: str) -> bool:
    """A part worth matching alone: words enough, and one beyond question words ("how much" alone
    would match every entry that quotes a price)."""
    if len(_WORD.findall(piece)) < MIN_PART_WORDS:
        return False
    lang = language.detect(piece) or language.DEFAULT
    return any(not w.intent for w in _words(piece, lang if lang in STEMMER_LANGUAGES else language.DEFAULT,
                                             query=True))


def parts(question: str) -> list[str]:
    """The questions of a message, when it holds several (else just the message)."""
    pieces = [p.strip(" ,") for p in _CLAUSES.split(question)]
    pieces = [p for p in pieces if _says_something(p)]
    return pieces if len(pieces) > 1 else [question]


def search(session: Session, agent_id: int, question: str, k: int = TOP_K) -> list[Hit]:
    """The agent's best entries for `question`, best first, with their confidence (0..1).

    Each entry keeps its best confidence over the whole message and each of its parts, so two
    questions in one message do not halve each other's score."""
    return search_parts(session, agent_id, question, k)[0][1]


def search_parts(session: Session, agent_id: int, question: str, k: int = TOP_K) -> list[tuple[str, list[Hit]]]:
    """[(text, hits)]: first the whole message (merged with its parts, as `search`), then each part
    when the message holds several questions."""
    index = _index(session, agent_id)
    if index is None or not question.strip():
        return [(question, [])]
    langs = languages_for(index, question)
    whole = _rank(index, question, langs, k)
    pieces = parts(question)
    if len(pieces) == 1:
        return [(question, whole)]
    ranked = [(piece, _rank(index, piece, languages_for(index, piece) if langs else [], k)) for piece in pieces]
    best = {hit.entry_id: hit for hit in whole}
    for _piece, hits in ranked:
        for hit in hits:
            if hit.entry_id not in best or hit.confidence > best[hit.entry_id].confidence:
                best[hit.entry_id] = hit
    merged = sorted(best.values(), key=lambda h: -h.confidence)[:k]
    return [(question, merged), *ranked]
