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
    audio_dropout: float = 0.25
    tag_dropout: float = 0.1
    max_tags: int = 10

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
DEFAULT_VARIANT = "w2v-128-4h"


def variant(name: str) -> ModelConfig:
    """The config of a named variant; ValueError lists the names."""
    if name not in VARIANTS:
        raise ValueError(f"unknown variant {name!r}: choose one of {', '.join(VARIANTS)}")
    return VARIANTS[name]
