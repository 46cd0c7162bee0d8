"""Training settings: the paper's defaults, and what this product changed."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class TrainConfig:
    variant: str = "w2v-128-4h"
    epochs: int = 30
    batch_size: int = 128
    lr: float = 0.005
    optimizer: str = "sgd"  # sgd (the paper), adam or adamw
    momentum: float = 0.0
    recon_weight: float = 5.0  # λ_a
    contrastive_weight: float = 10.0  # λ_ξ
    tau: float = 0.1
    seed: int = 0
    device: str = "auto"
    val_fraction: float = 0.1
    split_seed: int = 0
    vocab_size: int = 1000
    max_tags: int = 10
    word_vectors: str = "word2vec"  # word2vec, fasttext, or a path to saved vectors
    word_vector_epochs: int = 50  # the paper's 5 give meaningless neighbours on thousands of clips
    compile: bool = False  # torch.compile the audio encoder and decoder
    bf16: bool = True  # autocast to bfloat16 on CUDA and on CPUs with native bf16

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})
