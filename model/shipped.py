"""The compact inference-only copy of a bundle, which the model shipped with audiotag is.

`model/shipped/` is a bundle exported by `audiotag export` (no decoder, float16 weights and word
vectors); it is installed with the package and used wherever the user has trained no bundle
(`model/bundles.py` finds it). Word vectors wider than `WORD_DIMS` (GloVe + MiniLM: 434) are folded
into the tag encoder's input projection first (`fold_word_projection`), so the copy stays as small as
one with GloVe's 50-d vectors.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import torch
from gensim.models import KeyedVectors
from safetensors.torch import save_file

from model.bundle import DECODER, Bundle
from model.bundles import MANIFEST, VOCABULARY, WEIGHTS, WORD_VECTORS
from model.files import publish_folder, staging_folder
from model.word_vectors import compact

WORD_DIMS = 50  # word-vector numbers a shipped word keeps at most: GloVe's own 50
PROJECTION = "word_projection.linear.weight"  # (F_w, D_w): the tag encoder reads only W · e_w


def fold_word_projection(
    kv: KeyedVectors, weight: np.ndarray, dims: int
) -> tuple[KeyedVectors, np.ndarray, float]:
    """Word vectors e (W, D) and the input projection `weight` (F, D) → vectors y (W, k) and a
    projection V (F, k) with V · y the best rank-k match of W · e over the words (k = `dims`).

    The tag encoder sees a word only through W · e, so what is stored is those F numbers' k
    principal directions (uncentred: the projection has no bias). Also the share of W · e's energy
    kept. Compound words (the mean of two words' vectors) fold the same, the map being linear.
    """
    projected = np.asarray(kv.vectors, np.float32) @ weight.T.astype(np.float32)  # (W, F)
    energy, directions = np.linalg.eigh(projected.T.astype(np.float64) @ projected)  # ascending
    top = directions[:, ::-1][:, :dims].astype(np.float32)  # (F, k)
    folded = KeyedVectors(top.shape[1])
    folded.add_vectors(list(kv.index_to_key), projected @ top)  # (W, k)
    return folded, top, float(energy[::-1][:dims].sum() / energy.sum())


def save_inference_bundle(
    source: Path, out: Path, extra: dict | None = None, word_dims: int = WORD_DIMS
) -> Path:
    """A compact copy of a bundle for inference only: no decoder, float16 weights and word vectors
    (folded into `word_dims` numbers a word where they are wider and the model projects them)."""
    bundle = Bundle(source, device="cpu")
    out = Path(out)
    tmp = staging_folder(out)
    state = {k: v.detach() for k, v in bundle.model.state_dict().items() if not k.startswith(DECODER)}
    word_vectors, manifest = bundle.word_vectors, {**bundle.manifest, **(extra or {})}
    if PROJECTION in state and word_vectors.vector_size > word_dims:
        word_vectors, top, kept = fold_word_projection(word_vectors, state[PROJECTION].numpy(), word_dims)
        state[PROJECTION] = torch.from_numpy(top)
        manifest["model"] = {**manifest["model"], "word_input_dim": word_dims}
        wide = bundle.word_vectors.vector_size
        folded = {"dim": word_dims, "folded_from": wide, "energy_kept": round(kept, 4)}
        manifest["word_vectors"] = {**manifest.get("word_vectors", {}), **folded}
    state = {
        k: v.to(torch.float16 if v.is_floating_point() else v.dtype).contiguous() for k, v in state.items()
    }
    save_file(state, str(tmp / WEIGHTS))
    compact(word_vectors).save(str(tmp / WORD_VECTORS))
    shutil.copy2(bundle.path / VOCABULARY, tmp / VOCABULARY)
    manifest = {**manifest, "inference_only": True, "exported_from": bundle.version}
    manifest.pop("curves", None)
    (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2))
    for f in tmp.iterdir():
        f.chmod(0o644)  # package data: readable by the service's own user
    return publish_folder(tmp, out)
