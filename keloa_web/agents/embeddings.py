"""Sentence embeddings for knowledge retrieval: WordLlama's bundled model, on CPU, offline.

WordLlama (MIT, github.com/dleemiller/WordLlama) is a static embedding model: the token embeddings
of a large language model's vocabulary, trained further on sentence pairs, averaged over a text's
tokens. Its wheel on PyPI carries the default model (`l2_supercat`, 256 dimensions, 16 MB of
float16 weights, the Llama 2 tokenizer), so a fresh `pip install` needs no model hub and nothing is
downloaded at run time (`disable_download=True`). Measured in bench/eval: about 30 µs per message,
85 MB resident once loaded (on first use), and it finds the right entry where the customer shares no
word with it ("what do you charge for postage" -> "Shipping costs"). See the README's "AI agents"
section for how it was chosen.

Without the package installed `available()` is False and retrieval runs on BM25 alone; the agent
page says so.

Vectors are unit length, so a dot product is the cosine similarity. Entries' vectors are computed
when an entry is saved and stored with it (`KnowledgeEntry.vectors`, float16) under MODEL_NAME; a
question is the only text embedded per turn.
"""
from __future__ import annotations

import logging
import threading

import numpy as np

log = logging.getLogger(__name__)

MODEL_NAME = "wordllama-l2_supercat-256"
DIM = 256

_model = None
_failed = False
_lock = threading.Lock()


def _load():
    global _model, _failed
    with _lock:
        if _model is None and not _failed:
            try:
                from pathlib import Path

                import wordllama
                from wordllama import WordLlama

                # The wheel ships the weights and tokenizer under its own directory, laid out as the
                # cache WordLlama looks in: point it there and forbid any download.
                _model = WordLlama.load(config="l2_supercat", dim=DIM, disable_download=True,
                                        cache_dir=Path(wordllama.__file__).parent)
            except Exception as exc:  # not installed, or installed without its weights
                _failed = True
                log.warning("Knowledge retrieval runs on BM25 alone: the embedding model could not be "
                            "loaded (%s).", type(exc).__name__)
    return _model


def available() -> bool:
    return _load() is not None


def encode(texts: list[str]) -> np.ndarray | None:
    """Unit vectors (float32, one row per text), or None when the model is not installed."""
    model = _load()
    if model is None:
        return None
    if not texts:
        return np.zeros((0, DIM), dtype=np.float32)
    return np.asarray(model.embed(texts, norm=True), dtype=np.float32)


def pack(vectors: np.ndarray) -> bytes:
    return np.asarray(vectors, dtype=np.float16).tobytes()


def unpack(blob: bytes | None) -> np.ndarray | None:
    if not blob:
        return None
    flat = np.frombuffer(blob, dtype=np.float16)
    if flat.size % DIM:
        return None
    return flat.reshape(-1, DIM).astype(np.float32)
