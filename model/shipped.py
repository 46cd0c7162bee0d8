"""The compact inference-only copy of a bundle, which the model shipped with audiotag is.

`model/shipped/` is a bundle exported by `audiotag export` (no decoder, float16 weights and word
vectors); it is installed with the package and used wherever the user has trained no bundle
(`model/bundles.py` finds it).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch
from safetensors.torch import save_file

from model.bundle import DECODER, Bundle
from model.bundles import MANIFEST, VOCABULARY, WEIGHTS, WORD_VECTORS
from model.files import publish_folder, staging_folder
from model.word_vectors import compact


def save_inference_bundle(source: Path, out: Path, extra: dict | None = None) -> Path:
    """A compact copy of a bundle for inference only: no decoder, float16 weights and word vectors."""
    bundle = Bundle(source, device="cpu")
    out = Path(out)
    tmp = staging_folder(out)
    state = {
        k: v.detach().to(torch.float16 if v.is_floating_point() else v.dtype).contiguous()
        for k, v in bundle.model.state_dict().items()
        if not k.startswith(DECODER)
    }
    save_file(state, str(tmp / WEIGHTS))
    compact(bundle.word_vectors).save(str(tmp / WORD_VECTORS))
    shutil.copy2(bundle.path / VOCABULARY, tmp / VOCABULARY)
    manifest = {**bundle.manifest, **(extra or {}), "inference_only": True, "exported_from": bundle.version}
    manifest.pop("curves", None)
    (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2))
    for f in tmp.iterdir():
        f.chmod(0o644)  # package data: readable by the service's own user
    return publish_folder(tmp, out)
