"""The model's hyper-parameters and the paper's named variants, one table."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class ModelConfig:
    """Everything needed to rebuild the networks; saved in every checkpoint and bundle."""

    variant: str = "w2v-128-4h"
    word_dim: int = 128  # F_w: word vectors, φ_a and φ_w
    heads: int = 4  # 0 for the mean tag encoder
    channels: int = 128
    n_mels: int = 96
    patch_frames: int = 96
    encoder_dropout: float = 0.25  # after each encoder block (the paper); 0 trains far better
    audio_dropout: float = 0.25  # the projection φ_a and the decoder
    tag_dropout: float = 0.1
    max_tags: int = 10
    word_input_dim: int = 0  # dimension of the word vectors when not F_w (a learned input projection)
    audio_encoder: str = "cnn"  # cnn (the paper's autoencoder) or mfcc-mlp (the yardstick, no decoder)

    @property
    def word_vector_dim(self) -> int:
        """The dimension of the word vectors the tag branch reads."""
        return self.word_input_dim or self.word_dim

    @property
    def latent_dim(self) -> int:
        """V: the flattened encoder output, channels × (96 / 2**5)²."""
        return self.channels * (self.n_mels // 32) * (self.patch_frames // 32)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> ModelConfig:
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})


VARIANTS: dict[str, ModelConfig] = {
    name: ModelConfig(variant=name, word_dim=dim, heads=heads)
    for name, dim, heads in [
        ("w2v-128-1h", 128, 1),
        ("w2v-128-4h", 128, 4),
        ("w2v-1152-1h", 1152, 1),
        ("w2v-1152-4h", 1152, 4),
        ("w2v-128-mean", 128, 0),
        ("w2v-1152-mean", 1152, 0),
    ]
}
# The yardstick: the same contrastive training with an MLP on 120-d MFCC statistics as the audio
# encoder (no decoder). The paper's encoder must beat it to be worth its cost.
VARIANTS["mfcc-mlp-128-4h"] = ModelConfig(
    variant="mfcc-mlp-128-4h", word_dim=128, heads=4, audio_encoder="mfcc-mlp"
)
DEFAULT_VARIANT = "w2v-128-4h"


def variant(name: str) -> ModelConfig:
    """The config of a named variant; ValueError lists the names."""
    if name not in VARIANTS:
        raise ValueError(f"unknown variant {name!r}: choose one of {', '.join(VARIANTS)}")
    return VARIANTS[name]
