"""Bundle folders on disk: their file names, their versions, the newest one and the shipped one.

Reads JSON only (no torch, no gensim), so commands that only pick or name a bundle start at once;
`model/bundle.py` loads one.
"""

from __future__ import annotations

import json
from pathlib import Path

MANIFEST, WEIGHTS, WORD_VECTORS, VOCABULARY = (
    "manifest.json",
    "weights.safetensors",
    "word_vectors.kv",
    "vocabulary.json",
)
SHIPPED = Path(__file__).parent / "shipped"  # installed with the package


def find_bundles(root: Path) -> list[Path]:
    """Bundle folders under `root`, oldest first (by the creation time in their manifests)."""
    found = []
    for manifest in Path(root).glob(f"*/{MANIFEST}") if Path(root).is_dir() else []:
        try:
            created = json.loads(manifest.read_text()).get("created", "")
        except (OSError, json.JSONDecodeError):
            continue
        found.append((created, manifest.parent.name, manifest.parent))
    return [p for _, _, p in sorted(found)]


def latest_bundle(root: Path) -> Path | None:
    """The newest bundle the user trained into `root`, or None."""
    found = find_bundles(root)
    return found[-1] if found else None


def bundle_version(path: Path) -> str | None:
    """The version in a bundle folder's manifest, without loading the model (None if unreadable)."""
    try:
        return json.loads((Path(path) / MANIFEST).read_text()).get("version")
    except (OSError, json.JSONDecodeError):
        return None


def default_bundle(root: Path) -> Path | None:
    """The newest bundle in `root`, else the model shipped with audiotag (None if neither exists)."""
    return latest_bundle(root) or (SHIPPED if (SHIPPED / MANIFEST).is_file() else None)


def bundle_by_version(root: Path, version: str) -> Path:
    """The folder of bundle `version`: in `root`, or the shipped model when it is that version."""
    path = Path(root) / version
    return SHIPPED if not path.exists() and bundle_version(SHIPPED) == version else path
