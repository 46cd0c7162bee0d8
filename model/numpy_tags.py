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
        self.projection = _weight(model.word_projection.linear)
        self.attention = isinstance(encoder, TagAttentionEncoder)
        if self.attention:
            self.heads = encoder.heads
            self.q, self.k, self.v = (_weight(f) for f in (encoder.q, encoder.k, encoder.v))
            self.o = _weight(encoder.o)
        else:
            self.linear = _weight(encoder.linear)
        norm = encoder.norm
        self.gamma = norm.weight.detach().float().cpu().numpy()
        self.beta = norm.bias.detach().float().cpu().numpy()
        self.eps = float(norm.eps)

    def __call__(self, w: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """w (B, T, D_w) float32 word vectors, mask (B, T) True for real tags → φ_w (B, F_w), unit length."""
        x = w if self.projection is None else _apply(w, self.projection)  # (B, T, D)
        m = mask[..., None].astype(np.float32)  # (B, T, 1)
        pooled = self._attend(x, mask) * m if self.attention else _apply(x, self.linear) * m
        summed = pooled.sum(axis=1)  # (B, D)
        if not self.attention:
            summed = summed / np.maximum(m.sum(axis=1), 1.0)
        phi = self._layer_norm(summed)
        return (phi / np.maximum(np.linalg.norm(phi, axis=-1, keepdims=True), 1e-12)).astype(np.float32)

    def _attend(self, x: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Multi-head self-attention with pad keys masked: (B, T, D) → (B, T, D), before pad queries drop."""
        b, t, d = x.shape
        q, k, v = (
            _apply(x, f).reshape(b, t, self.heads, d).transpose(0, 2, 1, 3) for f in (self.q, self.k, self.v)
        )
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
