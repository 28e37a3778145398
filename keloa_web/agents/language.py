"""Which language a customer message or a knowledge entry is written in (offline).

py3langid (a maintained fork of langid.py: a naive Bayes model over byte n-grams, 4.5 MB, its
model inside the package, numpy only) restricted to the languages retrieval can stem. On a chat
message it is about 10 µs; the model loads once, on first use (under a second).

Short chat messages are often ambiguous ("hola!", "hello 👋"): `detect` returns the language
only when the model is confident, else None, and retrieval then tries every language the agent
has entries in.
"""
from __future__ import annotations

import threading

# Languages retrieval knows: ISO 639-1 code -> PyStemmer's Snowball stemmer.
STEMMERS = {"en": "english", "pt": "portuguese", "es": "spanish"}
DEFAULT = "en"
# Below this normalised probability (among STEMMERS' languages) a message's language is unknown.
CONFIDENT = 0.7

_identifier = None
_lock = threading.Lock()


def _model():
    global _identifier
    with _lock:
        if _identifier is None:
            from py3langid.langid import MODEL_FILE, LanguageIdentifier

            identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
            identifier.set_languages(list(STEMMERS))
            _identifier = identifier
    return _identifier


def classify(text: str) -> tuple[str, float]:
    """The likeliest of STEMMERS' languages for `text` and its probability (0..1)."""
    if not any(ch.isalpha() for ch in text):
        return DEFAULT, 0.0
    lang, prob = _model().classify(text)
    return str(lang), float(prob)


def detect(text: str, confident: float = CONFIDENT) -> str | None:
    """`text`'s language when the model is confident about it, else None."""
    lang, prob = classify(text)
    return lang if prob >= confident else None


def of_entry(text: str) -> str:
    """An entry's language: entries are long enough for the likeliest guess to do."""
    return classify(text)[0]
