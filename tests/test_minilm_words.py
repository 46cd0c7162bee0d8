"""Richer word vectors: GloVe with MiniLM's view of each word, and the export that folds them back to
GloVe's size through the tag encoder's input projection."""

from __future__ import annotations

import numpy as np
from gensim.models import KeyedVectors

from model.minilm_words import glove_with_minilm, minilm_vectors
from model.shipped import fold_word_projection
from model.word_vectors import load_glove, load_word_vectors


def _random_words(n: int, dim: int, rank: int, seed: int = 0) -> KeyedVectors:
    rng = np.random.default_rng(seed)
    vectors = rng.normal(size=(n, rank)) @ rng.normal(size=(rank, dim))  # (n, dim) of that rank
    kv = KeyedVectors(dim)
    kv.add_vectors([f"w{i}" for i in range(n)], vectors.astype(np.float32))
    return kv


def test_folding_keeps_what_the_projection_sees_exactly_up_to_its_rank() -> None:
    kv = _random_words(300, 40, rank=40)
    weight = np.random.default_rng(1).normal(size=(16, 40)).astype(np.float32)  # (F, D)
    seen = kv.vectors @ weight.T  # (W, F): all the tag encoder reads of a word

    folded, top, kept = fold_word_projection(kv, weight, dims=16)  # k = F: nothing lost
    assert folded.vector_size == 16 and top.shape == (16, 16) and list(folded.index_to_key) == kv.index_to_key
    np.testing.assert_allclose(folded.vectors @ top.T, seen, rtol=1e-3, atol=1e-3)
    assert kept > 0.9999

    folded, top, kept = fold_word_projection(kv, weight, dims=5)  # the best rank-5 match, no better
    error = np.linalg.norm(folded.vectors @ top.T - seen)
    s = np.linalg.svd(seen, compute_uv=False)
    np.testing.assert_allclose(error, np.sqrt((s[5:] ** 2).sum()), rtol=1e-3)
    np.testing.assert_allclose(kept, (s[:5] ** 2).sum() / (s**2).sum(), rtol=1e-4)


def test_minilm_reads_each_word_alone() -> None:
    v = minilm_vectors(["dog", "cat", "piano"])  # the real model, from its wheel
    assert v.shape == (3, 384) and v.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, rtol=1e-4)
    assert v[0] @ v[1] > v[0] @ v[2] + 0.1  # a dog is nearer a cat than a piano


def test_glove_with_minilm_keeps_glove_and_adds_minilm() -> None:
    both, glove = glove_with_minilm(max_rank=300), load_glove(300)
    assert list(both.index_to_key) == list(glove.index_to_key) and both.vector_size == 50 + 384
    np.testing.assert_array_equal(both.vectors[:, :50], glove.vectors)
    scale = np.median(np.linalg.norm(glove.vectors, axis=1))
    np.testing.assert_allclose(np.linalg.norm(both.vectors[:, 50:], axis=1), scale, rtol=1e-3)


def test_the_name_is_a_word_vector_source(monkeypatch) -> None:
    import model.minilm_words as minilm_words

    monkeypatch.setattr(minilm_words, "load_glove", lambda max_rank: load_glove(100))
    assert load_word_vectors("glove+minilm").vector_size == 434
