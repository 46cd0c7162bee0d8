"""Word vectors e_w for tags: CBOW word2vec (the paper), FastText (subwords), or any saved vectors."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from gensim.models import FastText, KeyedVectors, Word2Vec

KINDS = ("word2vec", "fasttext")


def train_word_vectors(
    tag_sets: Sequence[Sequence[str]], dim: int, *, kind: str = "word2vec", epochs: int = 50, seed: int = 0
) -> KeyedVectors:
    """CBOW vectors over tag sets, one "sentence" per clip, the window covering the whole set.

    The paper used 5 epochs on 190k clips; on thousands of clips that leaves the vectors near their
    random start, so 50 epochs is the default here. One worker thread keeps a seeded run repeatable.
    """
    sentences = [list(s) for s in tag_sets if s]
    if not sentences:
        raise ValueError("no tags to train word vectors on")
    window = max(len(s) for s in sentences)
    common = dict(vector_size=dim, window=window, min_count=1, sg=0, workers=1, seed=seed, epochs=epochs)
    if kind == "word2vec":
        model = Word2Vec(sentences, **common)
    elif kind == "fasttext":
        model = FastText(sentences, min_n=3, max_n=5, **common)
    else:
        raise ValueError(f"unknown word-vector kind {kind!r}: choose {', '.join(KINDS)} or give a file")
    return model.wv


def load_word_vectors(path: Path) -> KeyedVectors:
    """Vectors saved by gensim (KeyedVectors.save) or in word2vec text/binary format."""
    path = Path(path)
    if not path.exists():
        raise ValueError(f"word-vector file not found: {path}")
    try:
        if path.suffix in (".txt", ".vec"):
            return KeyedVectors.load_word2vec_format(str(path), binary=False)
        if path.suffix == ".bin":
            return KeyedVectors.load_word2vec_format(str(path), binary=True)
        return KeyedVectors.load(str(path))
    except Exception as err:  # gensim raises many types for a bad file
        raise ValueError(f"cannot read word vectors from {path.name}: {err}") from None


def has_vector(kv: KeyedVectors, word: str) -> bool:
    """True when `kv` gives the word a vector: in its vocabulary, or built from subwords (FastText)."""
    if word in kv.key_to_index:
        return True
    return hasattr(kv, "buckets_word") and kv.bucket > 0 and len(word) >= getattr(kv, "min_n", 3)


def lookup(kv: KeyedVectors, words: Sequence[str]) -> np.ndarray:
    """(len(words), F_w) float32; every word must have a vector."""
    return np.stack([kv[w] for w in words]).astype(np.float32) if words else np.zeros((0, kv.vector_size))
