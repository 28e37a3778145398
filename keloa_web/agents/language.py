"""Which language a customer message or a knowledge entry is written in (offline, no model).

Chat messages are short, and what gives their language away is their small words: "do you", "vocês
têm", "¿tienen". Each language retrieval can stem scores one point per word of the text found in its
stop-word list (bm25s's lists, from NLTK/Snowball, plus the chat greetings and thanks of
retrieval's CHAT_FILLER), a word shared by several lists counting for each a share, and letters only
one of them writes (ã, ç, ñ, ¿) add to it. The language is known when one leads clearly; else
(`"ok 👍"`, `"menu?"`) it is None and retrieval tries every language the agent has entries in.

About 5 µs a message and no memory to speak of: a language model (py3langid) was measured too and
read these messages no better, at 84 MB per process.
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# Languages retrieval knows: ISO 639-1 code -> PyStemmer's Snowball stemmer.
STEMMERS = {"en": "english", "pt": "portuguese", "es": "spanish", "fr": "french", "de": "german",
            "it": "italian"}
NAMES = {"en": "English", "pt": "Portuguese", "es": "Spanish", "fr": "French", "de": "German",
         "it": "Italian"}
DEFAULT = "en"

# Letters (or marks) that only one of the languages writes.
_LETTERS = {"pt": "ãõç", "es": "ñ¿¡", "fr": "èœùû", "de": "äöüß", "it": "ì"}
_GREETINGS = {
    "en": "hi hello hey hiya thanks thank cheers please pls whats ur u",
    "pt": "oi olá obrigado obrigada obg vocês você vc vcs tudo bem queria gostaria quanto qual onde tem",
    "es": "hola gracias buenas usted ustedes quería cuánto cuanto dónde tienen hay",
    "fr": "bonjour salut merci vous",
    "de": "hallo danke bitte ihr sie",
    "it": "ciao grazie buongiorno",
}
_WORD = re.compile(r"(?u)[^\W\d_]+")


def _fold(word: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", word) if unicodedata.category(c) != "Mn")


@lru_cache(maxsize=1)
def _weights() -> dict[str, set[str]]:
    """word (accents folded) -> the languages whose small words it is."""
    import bm25s.stopwords as sw

    lists = {"en": sw.STOPWORDS_EN_PLUS, "pt": sw.STOPWORDS_PORTUGUESE, "es": sw.STOPWORDS_SPANISH,
             "fr": sw.STOPWORDS_FRENCH, "de": sw.STOPWORDS_GERMAN, "it": sw.STOPWORDS_ITALIAN}
    members: dict[str, set[str]] = {}
    for lang, words in lists.items():
        for word in list(words) + _GREETINGS[lang].split():
            members.setdefault(_fold(word.lower()), set()).add(lang)
    return members


def scores(text: str, among: frozenset[str] | None = None) -> dict[str, float]:
    """Points per language of `among` (default: all of STEMMERS) for `text`: see the module docstring."""
    langs = among or frozenset(STEMMERS)
    weights = _weights()
    lowered = text.lower()
    points = dict.fromkeys(sorted(langs), 0.0)
    for word in _WORD.findall(lowered):
        sharing = [lang for lang in weights.get(_fold(word), ()) if lang in langs]
        for lang in sharing:
            points[lang] += 1 / len(sharing)
    for lang, letters in _LETTERS.items():
        if lang in langs and any(ch in lowered for ch in letters):
            points[lang] += 1.5
    return points


def detect(text: str, among: frozenset[str] | None = None) -> str | None:
    """`text`'s language (one of `among`, default all of STEMMERS) when one clearly leads, else None."""
    if among is not None and len(among) == 1:
        (only,) = among
        return only if scores(text, among)[only] > 0 else None
    ranked = sorted(scores(text, among).items(), key=lambda kv: -kv[1])
    (best, top), (_, runner_up) = ranked[0], ranked[1]
    if top >= 0.5 and top >= 1.3 * runner_up + 0.1:
        return best
    return None


def of_entry(text: str) -> str:
    """An entry's language: its likeliest, English when nothing tells (a price list, a URL)."""
    return detect(text) or DEFAULT
