"""The tag encoder in NumPy, for inference on CPU: the same arithmetic as `model.networks`'s
`WordProjection` → `TagAttentionEncoder` (or `TagMeanEncoder`) → L2 normalisation, in float32, with
the trained weights read once.

A text query is one tag set of a few words: torch spends ~0.7 ms dispatching the encoder's dozen
small operators, NumPy ~0.05 ms on the same matrices (bench.serve, distinct queries). Training and
GPU inference keep the torch module; a test holds the two to the same φ_w.
"""

from __future__ import annotations

import numpy as np

from model.networks import AudioTagModel, TagAttentionEncoder


def _apply(x: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """(…, in) @ (in, out) as one 2-D product (NumPy would loop over stacked matrices)."""
    return (x.reshape(-1, x.shape[-1]) @ weight).reshape(*x.shape[:-1], weight.shape[1])


def _weight(linear) -> np.ndarray | None:
    """A bias-free nn.Linear as (in, out) float32, so that x @ W applies it; None for no layer."""
    return None if linear is None else linear.weight.detach().float().cpu().numpy().T.copy()


class NumpyTagEncoder:
    """φ_w of word vectors, as the model's tag encoder computes them in eval mode."""

    def __init__(self, model: AudioTagModel) -> None:
        encoder = model.tag_encoder
        projection = _weight(model.word_projection.linear)  # (D_w, D) or None
        self.attention = isinstance(encoder, TagAttentionEncoder)
        if self.attention:  # one product for q, k and v, the word projection folded in
            self.heads = encoder.heads
            first = np.concatenate([_weight(f) for f in (encoder.q, encoder.k, encoder.v)], axis=1)
            self.o = _weight(encoder.o)
        else:
            first = _weight(encoder.linear)
        self.first = first if projection is None else projection @ first  # (D_w, 3·H·D) or (D_w, D)
        norm = encoder.norm
        self.gamma = norm.weight.detach().float().cpu().numpy()
        self.beta = norm.bias.detach().float().cpu().numpy()
        self.eps = float(norm.eps)

    def __call__(self, w: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """w (B, T, D_w) float32 word vectors, mask (B, T) True for real tags → φ_w (B, F_w), unit length."""
        x = _apply(w, self.first)  # (B, T, 3·H·D) for attention, (B, T, D) for the mean
        m = mask[..., None].astype(np.float32)  # (B, T, 1)
        summed = ((self._attend(x, mask) if self.attention else x) * m).sum(axis=1)  # (B, D)
        if not self.attention:
            summed = summed / np.maximum(m.sum(axis=1), 1.0)
        phi = self._layer_norm(summed)
        return (phi / np.maximum(np.linalg.norm(phi, axis=-1, keepdims=True), 1e-12)).astype(np.float32)

    def _attend(self, qkv: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Multi-head self-attention with pad keys masked: q, k, v side by side (B, T, 3·H·D) →
        (B, T, D), before pad queries drop."""
        b, t, _ = qkv.shape
        d = self.o.shape[1]
        heads = qkv.reshape(b, t, 3, self.heads, d).transpose(2, 0, 3, 1, 4)  # (3, B, H, T, D)
        q, k, v = heads[0], heads[1], heads[2]
        scores = q @ k.transpose(0, 1, 3, 2) / np.float32(np.sqrt(d))  # (B, H, T, T)
        scores = np.where(mask[:, None, None, :], scores, -np.inf)
        top = scores.max(axis=-1, keepdims=True)
        with np.errstate(invalid="ignore"):  # an all-pad row: −inf − −inf, then 0 as in the model
            e = np.exp(scores - top)
            attn = np.nan_to_num(e / e.sum(axis=-1, keepdims=True), nan=0.0)
        h = (attn @ v).transpose(0, 2, 1, 3).reshape(b, t, self.heads * d)  # (B, T, H·D)
        return _apply(h, self.o)

    def _layer_norm(self, x: np.ndarray) -> np.ndarray:
        mean = x.mean(axis=-1, keepdims=True)
        var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
        return (x - mean) / np.sqrt(var + self.eps) * self.gamma + self.beta
