"""Search by example sounds: a text query also asks for sounds like those the catalogue tags so.

The cross-modal score (the query's φ_w against a sound's φ_a) is the model's weakest link on sounds
from elsewhere, while its audio-to-audio similarity is strong (z_a's nearest-neighbour probe: 0.81
out of source). So a text query, in its catalogue context (index/contexts.py), is also matched in
the tag space to the catalogue's tag sets; the mean φ_a of the sounds behind the best
`EXAMPLE_SETS` sets, weighted by a softmax of that match over `EXAMPLE_TEMPERATURE` and by how many
sounds carry each set, is an audio example of the query, and the search vector is the text query
plus `EXAMPLE_WEIGHT` times it. It is one vector in the audio index's space, so a search costs one
index lookup as before.

Chosen out of source (`audiotag eval --task catalogue`, the out-of-source packages, held-out twin D
of docs/eval-out-of-source): text→audio recall@10 by tag sets 0.124 → 0.174 among 798 clips
(0.272 → 0.317 in galleries of 282, the size the quality issue measured on), one-word searches mAP
0.147 → 0.186. In source, on the shipped model's held-out takes: recall@10 0.624 → 0.728, one-word
mAP 0.513 → 0.516. Matching the bare word's φ_w instead of the query in context lost one-word
searches (in source 0.513 → 0.276). Within 1 point of these: 5–100 sets, 0.02–0.05, weight 2–4.
"""

from __future__ import annotations

import numpy as np

from index.centres import centred
from index.softmax import softmax

EXAMPLE_SETS = 5
EXAMPLE_TEMPERATURE = 0.05
EXAMPLE_WEIGHT = 2.0


class Examples:
    """The catalogue's tag sets that have sounds behind them, centred as the scorer centres them."""

    def __init__(self, set_phi_w: np.ndarray, set_phi_a: np.ndarray, counts: np.ndarray) -> None:
        """set_phi_w (S, F) centred φ_w of each set; set_phi_a (S, F) centred mean φ_a of its sounds
        (a zero row: none indexed); counts (S,) sounds carrying each set."""
        heard = np.linalg.norm(set_phi_a, axis=1) > 0
        self.phi_w, self.phi_a = set_phi_w[heard], set_phi_a[heard]
        self.log_counts = np.log(np.maximum(counts[heard], 1)).astype(np.float32)

    @classmethod
    def of(cls, vectors: np.ndarray, audio: np.ndarray, counts: np.ndarray, centre_w, centre_a) -> Examples:
        """From a catalogue's raw set vectors (S, F), raw mean φ_a (S, F, zeros where none) and counts."""
        heard = np.linalg.norm(audio, axis=1, keepdims=True) > 0
        return cls(centred(vectors, centre_w), np.where(heard, centred(audio, centre_a), 0.0), counts)

    def __len__(self) -> int:
        return len(self.phi_w)

    def vectors(self, queries: np.ndarray) -> np.ndarray:
        """(N, F) L2-normalised audio examples of text queries (N, F, centred, normalised)."""
        match = queries @ self.phi_w.T  # (N, S) cosine in the tag space
        k = min(EXAMPLE_SETS, len(self))
        best = np.argpartition(-match, k - 1, axis=1)[:, :k]  # (N, k)
        weights = softmax(np.take_along_axis(match, best, 1) + EXAMPLE_TEMPERATURE * self.log_counts[best],
                          EXAMPLE_TEMPERATURE)  # fmt: skip
        example = np.einsum("nk,nkf->nf", weights, self.phi_a[best])  # (N, F)
        return example / np.maximum(np.linalg.norm(example, axis=1, keepdims=True), 1e-12)

    def search_vectors(self, queries: np.ndarray) -> np.ndarray:
        """(N, F) the text queries (N, F, centred, normalised) plus their audio examples, normalised."""
        if not len(self):
            return queries
        mixed = queries + EXAMPLE_WEIGHT * self.vectors(queries)
        return (mixed / np.maximum(np.linalg.norm(mixed, axis=1, keepdims=True), 1e-12)).astype(np.float32)
