"""The paper's networks: audio encoder and decoder, the audio projection, and the tag encoders."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from model.config import ModelConfig


class FastDropout(nn.Module):
    """Dropout whose mask comes from random bytes: p rounded to 1/256, much faster on CPU.

    torch's Bernoulli sampling was a fifth of a CPU training step; the state-dict is unchanged. The
    bytes are drawn eight at a time (64-bit integers seen as bytes: 3.7× faster than drawing bytes),
    laid out like `x` (channels-last stays channels-last), and the scaled mask is applied in one
    multiplication.
    """

    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = p
        self.threshold = round(p * 256)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.threshold == 0:
            return x
        keep = random_bytes_like(x) >= self.threshold
        return x * keep.to(x.dtype).mul_(256 / (256 - self.threshold))


def random_bytes_like(x: torch.Tensor) -> torch.Tensor:
    """Uniform random uint8 of x's shape and, where x is channels-last, its memory layout."""
    if torch.compiler.is_compiling():  # inductor cannot alias a dtype view: bytes drawn one by one
        return torch.empty_like(x, dtype=torch.uint8).random_(0, 256)
    n = x.numel()
    words = torch.empty(-(-n // 8), dtype=torch.int64, device=x.device).random_(-(2**63), None)
    flat = words.view(torch.uint8)[:n]
    if not x.is_contiguous(memory_format=torch.channels_last) or x.dim() != 4:
        return flat.view(x.shape)
    n_, c, h, w = x.shape
    return flat.view(n_, h, w, c).permute(0, 3, 1, 2)  # channels-last, as x


def _down(c_in: int, c_out: int, p: float) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 4, 2, 1), nn.BatchNorm2d(c_out), nn.ReLU(), FastDropout(p))


class AudioEncoder(nn.Module):
    """e_a: (B, 1, 96, 96) log-mel patch → z_a (B, V = 1152), layer-normalised."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        c = cfg.channels
        self.blocks = nn.Sequential(*[_down(1 if i == 0 else c, c, cfg.encoder_dropout) for i in range(5)])
        self.norm = nn.LayerNorm(cfg.latent_dim, eps=1e-6)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.blocks(x)  # (B, C, 3, 3)
        return self.norm(h.flatten(1))  # (B, V)


class MfccEncoder(nn.Module):
    """The yardstick's e_a: (B, 1, M, P) patch → [mean, std] over time of 20 MFCCs, Δ and ΔΔ (120-d)
    → MLP → z_a (B, V), layer-normalised. The MFCCs are the orthonormal DCT-II of the (scaled) log-mel,
    as the evaluation's MFCC baseline computes them."""

    N_MFCC = 20

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        m = torch.arange(cfg.n_mels, dtype=torch.float32)
        k = torch.arange(self.N_MFCC, dtype=torch.float32)[:, None]
        dct = torch.cos(math.pi / cfg.n_mels * (m + 0.5) * k) * math.sqrt(2.0 / cfg.n_mels)
        dct[0] /= math.sqrt(2.0)
        self.register_buffer("dct", dct, persistent=False)  # (20, M)
        self.mlp = nn.Sequential(
            nn.LayerNorm(6 * self.N_MFCC),
            nn.Linear(6 * self.N_MFCC, 512),
            nn.ReLU(),
            nn.Linear(512, cfg.latent_dim),
        )
        self.norm = nn.LayerNorm(cfg.latent_dim, eps=1e-6)

    @staticmethod
    def deltas(c: torch.Tensor) -> torch.Tensor:
        """Regression slope over ±2 frames, edges repeated: (B, C, T) → (B, C, T)."""
        T = c.shape[-1]
        p = F.pad(c, (2, 2), mode="replicate")
        return (p[..., 3 : 3 + T] - p[..., 1 : 1 + T] + 2 * (p[..., 4 : 4 + T] - p[..., :T])) / 10.0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c = self.dct @ x[:, 0].float()  # (B, 20, P)
        d1 = self.deltas(c)
        feats = torch.cat([c, d1, self.deltas(d1)], dim=1)  # (B, 60, P)
        stats = torch.cat([feats.mean(dim=-1), feats.std(dim=-1, correction=0)], dim=1)  # (B, 120)
        return self.norm(self.mlp(stats))  # (B, V)


class AudioDecoder(nn.Module):
    """d_a: z_a (B, V) → reconstructed patch (B, 1, 96, 96) in [0, 1]; the encoder's mirror."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        c, p = cfg.channels, cfg.audio_dropout
        self.shape = (c, cfg.n_mels // 32, cfg.patch_frames // 32)
        up = [
            nn.Sequential(FastDropout(p), nn.ConvTranspose2d(c, c, 4, 2, 1), nn.BatchNorm2d(c), nn.ReLU())
            for _ in range(4)
        ]
        last = nn.Sequential(nn.ConvTranspose2d(c, 1, 4, 2, 1), nn.BatchNorm2d(1), nn.Sigmoid())
        self.blocks = nn.Sequential(*up, last)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.blocks(z.view(-1, *self.shape))  # (B, 1, 96, 96)


class AudioProjection(nn.Module):
    """FNN_c-a: z_a (B, V) → φ_a (B, F_w), used only for the alignment with tags."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.linear = nn.Linear(cfg.latent_dim, cfg.word_dim, bias=False)
        self.dropout = FastDropout(cfg.audio_dropout)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.linear(z))


class TagAttentionEncoder(nn.Module):
    """Multi-head self-attention over a clip's word vectors, summed over its real tags, normalised.

    As in the reference code each head has size F_w and there is no positional encoding. Unlike it,
    pad slots are masked as keys and as queries, so φ_w does not depend on how many there are.
    """

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        d, h = cfg.word_dim, cfg.heads
        self.heads = h
        self.q = nn.Linear(d, h * d, bias=False)
        self.k = nn.Linear(d, h * d, bias=False)
        self.v = nn.Linear(d, h * d, bias=False)
        self.o = nn.Linear(h * d, d, bias=False)
        self.attn_dropout = nn.Dropout(cfg.tag_dropout)
        self.dropout = nn.Dropout(cfg.tag_dropout)
        self.norm = nn.LayerNorm(d, eps=1e-6)

    def forward(self, w: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """w (B, T, F_w) word vectors, mask (B, T) True for real tags → φ_w (B, F_w)."""
        B, T, D = w.shape
        q, k, v = (
            f(w).view(B, T, self.heads, D).transpose(1, 2) for f in (self.q, self.k, self.v)
        )  # (B,H,T,D)
        scores = q @ k.transpose(-2, -1) / math.sqrt(D)  # (B, H, T, T)
        scores = scores.masked_fill(~mask[:, None, None, :], float("-inf"))
        attn = self.attn_dropout(torch.softmax(scores, dim=-1).nan_to_num(0.0))  # all-pad rows → 0
        h = (attn @ v).transpose(1, 2).reshape(B, T, self.heads * D)  # (B, T, H·D)
        out = self.dropout(self.o(h)) * mask[..., None]  # (B, T, D), pad queries dropped
        return self.norm(out.sum(dim=1))  # (B, D)


class TagMeanEncoder(nn.Module):
    """The `mean` variant: a linear map of each word vector, averaged over the real tags, normalised."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.linear = nn.Linear(cfg.word_dim, cfg.word_dim, bias=False)
        self.dropout = nn.Dropout(cfg.tag_dropout)
        self.norm = nn.LayerNorm(cfg.word_dim, eps=1e-6)

    def forward(self, w: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        m = mask[..., None].to(w.dtype)  # (B, T, 1)
        mean = (self.linear(w) * m).sum(1) / m.sum(1).clamp_min(1.0)  # (B, D)
        return self.norm(self.dropout(mean))


class WordProjection(nn.Module):
    """Word vectors of another dimension (pretrained GloVe: 50) → F_w; the identity when they match."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        d_in = cfg.word_vector_dim
        self.linear = nn.Linear(d_in, cfg.word_dim, bias=False) if d_in != cfg.word_dim else None

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        return w if self.linear is None else self.linear(w)  # (B, T, F_w)


class AudioTagModel(nn.Module):
    """The co-aligned encoders: audio autoencoder + projection, and a tag encoder."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.audio_encoder = AudioEncoder(cfg) if cfg.audio_encoder == "cnn" else MfccEncoder(cfg)
        self.audio_decoder = AudioDecoder(cfg) if cfg.audio_encoder == "cnn" else None
        self.audio_projection = AudioProjection(cfg)
        self.word_projection = WordProjection(cfg)
        self.tag_encoder = TagAttentionEncoder(cfg) if cfg.heads > 0 else TagMeanEncoder(cfg)

    def forward(self, x: torch.Tensor, w: torch.Tensor, mask: torch.Tensor) -> dict[str, torch.Tensor]:
        """x (B, 1, 96, 96) patches, w (B, T, D_w) word vectors, mask (B, T) → every feature computed."""
        z_a = self.audio_encoder(x)  # (B, V)
        out = {
            "z_a": z_a,
            "phi_a": self.audio_projection(z_a),  # (B, F_w)
            "phi_w": self.tag_encoder(self.word_projection(w), mask),  # (B, F_w)
        }
        if self.audio_decoder is not None:
            out["recon"] = self.audio_decoder(z_a)  # (B, 1, 96, 96)
        return out

    def encode_audio(self, x: torch.Tensor, normalize: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
        """Patches (B, 1, 96, 96) → (z_a (B, V), φ_a (B, F_w))."""
        z_a = self.audio_encoder(x)
        phi_a = self.audio_projection(z_a)
        return (F.normalize(z_a, dim=-1), F.normalize(phi_a, dim=-1)) if normalize else (z_a, phi_a)

    def encode_tags(self, w: torch.Tensor, mask: torch.Tensor, normalize: bool = True) -> torch.Tensor:
        """Word vectors (B, T, D_w) with mask (B, T) → φ_w (B, F_w)."""
        phi_w = self.tag_encoder(self.word_projection(w), mask)
        return F.normalize(phi_w, dim=-1) if normalize else phi_w
