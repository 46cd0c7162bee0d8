"""The model bundle: one folder with everything inference needs, written by the trainer.

manifest.json          version, variant, configs, scaler, corpus summary, curves, metrics, versions
weights.safetensors    the networks' tensors
word_vectors.kv        gensim KeyedVectors (word2vec or FastText)
vocabulary.json        the tag vocabulary, most frequent first
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from gensim.models import KeyedVectors
from safetensors.torch import load_file, save_file

from model.arrays import parsing_headers
from model.audio import resample
from model.bundles import MANIFEST, VOCABULARY, WEIGHTS, WORD_VECTORS
from model.config import ModelConfig
from model.device import autocast, resolve_device
from model.features import FeatureConfig, Scaler, all_patches, log_mel
from model.files import publish_folder, staging_folder
from model.networks import AudioTagModel
from model.numpy_tags import NumpyTagEncoder
from model.tags import Vocabulary, normalise_tags
from model.word_vectors import has_vector, vector

DECODER = "audio_decoder."
WORD_VECTOR_CACHE = 65536  # words whose vectors a bundle keeps once read


class BundleError(ValueError):
    """A bundle folder that cannot be loaded; the message says what is wrong."""


class UnknownTagsError(ValueError):
    """None of the query words has a word vector."""

    def __init__(self, unknown: list[str]) -> None:
        super().__init__(f"no known tag among: {', '.join(unknown) or '(nothing left after normalising)'}")
        self.unknown = unknown


@dataclass
class TagEmbedding:
    vector: np.ndarray  # (F_w,) L2-normalised φ_w
    words: list[str]  # the normalised words that were used
    unknown: list[str] = field(default_factory=list)  # words without a vector, left out


def save_bundle(
    path: Path,
    model: AudioTagModel,
    word_vectors: KeyedVectors,
    vocabulary: Vocabulary,
    features: FeatureConfig,
    scaler: Scaler,
    manifest: dict,
) -> Path:
    """Write the bundle folder atomically (a sibling folder published in place: model/files.py)."""
    path = Path(path)
    tmp = staging_folder(path)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(tmp / WEIGHTS))
    word_vectors.save(str(tmp / WORD_VECTORS))
    (tmp / VOCABULARY).write_text(json.dumps(vocabulary.to_dict(), indent=1))
    full = {
        **manifest,
        "model": model.cfg.to_dict(),
        "features": features.to_dict(),
        "scaler": scaler.to_dict(),
    }
    (tmp / MANIFEST).write_text(json.dumps(full, indent=2))
    return publish_folder(tmp, path)


class Bundle:
    """A trained model ready for inference: audio → (z_a, φ_a), tags → φ_w, batched, CPU or CUDA."""

    def __init__(self, path: Path, device: str = "auto", batch_size: int = 256) -> None:
        self.path = Path(path).expanduser()
        if not (self.path / MANIFEST).is_file():
            raise BundleError(f"not a model bundle (no {MANIFEST}): {self.path}")
        try:
            self.manifest = json.loads((self.path / MANIFEST).read_text())
            self.config = ModelConfig.from_dict(self.manifest["model"])
            self.features = FeatureConfig.from_dict(self.manifest["features"])
            self.scaler = Scaler.from_dict(self.manifest["scaler"])
            self.vocabulary = Vocabulary.from_dict(json.loads((self.path / VOCABULARY).read_text()))
            with parsing_headers():
                self.word_vectors = KeyedVectors.load(str(self.path / WORD_VECTORS))
            state = load_file(str(self.path / WEIGHTS))
        except (OSError, KeyError, ValueError, json.JSONDecodeError) as err:
            raise BundleError(f"cannot load the bundle {self.path.name}: {err}") from None
        self.device = resolve_device(device)
        self.batch_size = batch_size
        self.model = AudioTagModel(self.config)
        _load_state(self.model, state, self.path.name)
        self.model.to(self.device, memory_format=torch.channels_last).eval()  # 1.3× on CPU, bf16 or not
        self.autocast = autocast(self.device)
        # On CPU, text queries skip torch's per-operator cost (model/numpy_tags.py).
        self.numpy_tags = NumpyTagEncoder(self.model) if self.device.type == "cpu" else None
        # a word's vector, read once: gensim's lookup costs more than the NumPy tag encoder
        self._word_vector = functools.lru_cache(maxsize=WORD_VECTOR_CACHE)(
            functools.partial(vector, self.word_vectors)
        )

    @property
    def tau(self) -> float:
        """The contrastive temperature the bundle trained at: softmax(cos / τ) is what it learnt.
        Bundles written before τ was a setting trained at 0.1."""
        return float(self.manifest.get("train_config", {}).get("tau", 0.1))

    @property
    def version(self) -> str:
        return self.manifest["version"]

    # --- audio -------------------------------------------------------------------------------
    def patches(self, logmel: np.ndarray) -> np.ndarray:
        """All non-overlapping patches of a log-mel matrix, scaled: (K, M, P) float32."""
        return self.scaler(all_patches(logmel, self.features))

    @torch.inference_mode()
    def embed_patches(self, patches: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(K, M, P) scaled patches → unnormalised z_a (K, V) and φ_a (K, F_w), in batches."""
        zs, phis = [], []
        for i in range(0, len(patches), self.batch_size):
            x = torch.from_numpy(np.ascontiguousarray(patches[i : i + self.batch_size])).to(self.device)
            x = x.float().unsqueeze(1).contiguous(memory_format=torch.channels_last)  # (b, 1, M, P)
            with self.autocast:
                z, phi = self.model.encode_audio(x, normalize=False)  # (b, V), (b, F)
            zs.append(z.float().cpu().numpy())
            phis.append(phi.float().cpu().numpy())
        return np.concatenate(zs), np.concatenate(phis)

    def embed_logmels(self, logmels: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Clips' log-mel matrices → L2-normalised z_a (N, V) and φ_a (N, F_w), patches mean-pooled;
        (0, V) and (0, F_w) for no clip (a shard whose every sound was left out)."""
        if not logmels:
            return (
                np.zeros((0, self.config.latent_dim), np.float32),
                np.zeros((0, self.config.word_dim), np.float32),
            )
        per_clip = [self.patches(m) for m in logmels]
        counts = np.array([len(p) for p in per_clip])
        z, phi = self.embed_patches(np.concatenate(per_clip))
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        z = np.add.reduceat(z, starts) / counts[:, None]
        phi = np.add.reduceat(phi, starts) / counts[:, None]
        return _normalise(z), _normalise(phi)

    def logmel(self, waveform: np.ndarray, sample_rate: int) -> np.ndarray:
        """A mono waveform (N,) at any rate → its log-mel matrix (n_mels, T) in this bundle's settings."""
        mono = resample(np.asarray(waveform, np.float32), sample_rate, self.features.sample_rate)
        return log_mel(mono, self.features)

    def embed_audio(self, waveform: np.ndarray, sample_rate: int) -> tuple[np.ndarray, np.ndarray]:
        """A mono waveform (N,) at any rate → (z_a (V,), φ_a (F_w,)), L2-normalised."""
        z, phi = self.embed_logmels([self.logmel(waveform, sample_rate)])
        return z[0], phi[0]

    # --- tags --------------------------------------------------------------------------------
    def split_known(self, words: list[str]) -> tuple[list[str], list[str]]:
        """Normalise free-text tags; (words with a vector, words without), by the rule training used
        (model/word_vectors.has_vector: "hihat" has the vector of hi + hat)."""
        known, unknown = [], []
        for w in normalise_tags(words):
            (known if has_vector(self.word_vectors, w) else unknown).append(w)
        return list(dict.fromkeys(known)), unknown

    def embed_tag_sets(self, tag_sets: list[list[str]]) -> np.ndarray:
        """Known-word lists (each non-empty) → L2-normalised φ_w (N, F_w)."""
        T = max(len(s) for s in tag_sets)
        w = np.zeros((len(tag_sets), T, self.config.word_vector_dim), np.float32)
        mask = np.zeros((len(tag_sets), T), bool)
        for i, words in enumerate(tag_sets):
            w[i, : len(words)] = [self._word_vector(x) for x in words]
            mask[i, : len(words)] = True
        if self.numpy_tags is not None:
            return self.numpy_tags(w, mask)
        return self._encode_tags(w, mask)

    @torch.inference_mode()
    def _encode_tags(self, w: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """The torch tag encoder on this bundle's device, in batches: (N, T, D_w), (N, T) → (N, F_w)."""
        out = []
        for i in range(0, len(w), self.batch_size):
            wt = torch.from_numpy(w[i : i + self.batch_size]).to(self.device)
            mt = torch.from_numpy(mask[i : i + self.batch_size]).to(self.device)
            out.append(self.model.encode_tags(wt, mt).float().cpu().numpy())
        return np.concatenate(out)

    def embed_tags(self, words: list[str]) -> TagEmbedding:
        """Free-text tags → φ_w; unknown words are reported and left out (UnknownTagsError if all are)."""
        known, unknown = self.split_known(words)
        if not known:
            raise UnknownTagsError(unknown or list(words))
        return TagEmbedding(self.embed_tag_sets([known])[0], known, unknown)


def _load_state(model: AudioTagModel, state: dict[str, torch.Tensor], name: str) -> None:
    """Weights in float32 whatever they were saved in; an inference bundle may leave the decoder out."""
    missing, unexpected = model.load_state_dict({k: v.float() for k, v in state.items()}, strict=False)
    wanted = [k for k in missing if not k.startswith(DECODER)]
    if wanted or unexpected:
        raise BundleError(f"the weights of {name} do not fit its model: {(wanted + unexpected)[:3]}")


def _normalise(x: np.ndarray) -> np.ndarray:
    return (x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)).astype(np.float32)


def load(path: Path, device: str = "auto") -> Bundle:
    """Load a bundle folder for inference."""
    return Bundle(path, device)
