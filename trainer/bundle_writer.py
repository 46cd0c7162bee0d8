"""Turn a finished training run into a model bundle with its manifest and curves."""

from __future__ import annotations

import hashlib
import platform
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from model.bundle import save_bundle
from model.features import FeatureConfig
from model.ids import version_id
from model.word_vectors import KINDS, PRETRAINED
from trainer.config import TrainConfig
from trainer.data import TrainingData
from trainer.loop import TrainResult
from trainer.plots import plot_curves

LIBRARIES = ("audiotag", "torch", "torchaudio", "gensim", "numpy", "soundfile", "soxr", "safetensors")


def library_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out


def corpus_fingerprint(data: TrainingData) -> str:
    """sha1 of the training and validation clip ids and tags: the same corpus gives the same print."""
    h = hashlib.sha1()
    for clips in (data.train, data.val):
        for uid, tags in zip(clips.uids, clips.tags, strict=True):
            h.update(f"{uid}:{','.join(tags)};".encode())
    return h.hexdigest()[:16]


def bundle_version_id(variant: str, result: TrainResult) -> str:
    """`<variant>-<UTC time>-<6 hex of the weights>`."""
    h = hashlib.sha1()
    for v in result.model.state_dict().values():
        h.update(v.detach().cpu().numpy().tobytes())
    return version_id(h.hexdigest()[:6], prefix=variant)


def public_config(cfg: TrainConfig) -> dict:
    """The resolved config for a manifest: the pre-trained encoder and a word-vector file by their
    file names, not this machine's paths."""
    config = cfg.to_dict()
    if config.get("init_encoder"):
        config["init_encoder"] = Path(config["init_encoder"]).name
    config["word_vectors"] = word_vector_source(cfg.word_vectors)
    return config


def word_vector_source(word_vectors: str) -> str:
    """A named source as it is (`glove`, `glove+minilm`, `word2vec`), a file by its name."""
    return word_vectors if word_vectors in KINDS + PRETRAINED else Path(word_vectors).name


def write_training_bundle(
    out_root: Path,
    cfg: TrainConfig,
    result: TrainResult,
    features: FeatureConfig,
    *,
    command: str = "",
) -> Path:
    """bundles/<version>/ with weights, vectors, vocabulary, manifest and curves.png."""
    data = result.data
    bundle_version = bundle_version_id(cfg.variant, result)
    kept = [h for h in result.history if h["epoch"] == result.best_epoch]
    last = (kept or result.history or [{}])[-1]
    manifest = {
        "version": bundle_version,
        "variant": cfg.variant,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": command,
        "train_config": public_config(cfg),
        "word_vectors": {
            "kind": word_vector_source(cfg.word_vectors),
            "epochs": cfg.word_vector_epochs if cfg.word_vectors in KINDS else 0,
            "words": len(result.word_vectors.key_to_index),
            "dim": result.word_vectors.vector_size,
        },
        "corpus": {**data.summary, "fingerprint": corpus_fingerprint(data)},
        "curves": result.history,
        "kept_epoch": last.get("epoch"),
        "stopped_after_epoch": result.stopped_after,  # None: every epoch of train_config ran
        "metrics": {
            "val": last.get("val", {}),
            "train": last.get("train", {}),
            "train_seconds": round(result.seconds, 1),
            "samples_per_s": round(result.samples_per_s, 1),
        },
        "libraries": library_versions(),
    }
    path = save_bundle(
        out_root / bundle_version,
        result.model,
        result.word_vectors,
        data.vocabulary,
        features,
        data.scaler,
        manifest,
    )
    if result.history:
        plot_curves(result.history, path / "curves.png", f"{cfg.variant}: {bundle_version}")
    return path
