"""Log-mel features on disk, keyed by content hash, so that no clip is decoded twice.

Layout of one cache (one folder per feature settings):
  settings.json   the FeatureConfig
  frames.f16      every clip's log-mel frames, appended: rows of n_mels float16 values
  index.json      content hash -> [first row, number of rows]; replaced atomically

Frames are appended first and the index is replaced after, so a crash leaves at most unindexed
rows at the end of frames.f16, which the next writer cuts off.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from model.features import FeatureConfig
from model.files import write_json_atomic


class FeatureCache:
    """Append-only store of log-mel matrices (n_mels, T)."""

    def __init__(self, root: Path, config: FeatureConfig = FeatureConfig()) -> None:
        self.config = config
        self.dir = Path(root) / config.key
        self.dir.mkdir(parents=True, exist_ok=True)
        self._frames_path = self.dir / "frames.f16"
        self._index_path = self.dir / "index.json"
        settings = self.dir / "settings.json"
        if not settings.exists():
            write_json_atomic(settings, config.to_dict())
        self.index: dict[str, tuple[int, int]] = {}
        if self._index_path.exists():
            self.index = {
                k: (int(a), int(b)) for k, (a, b) in json.loads(self._index_path.read_text()).items()
            }
        self._rows = max((a + b for a, b in self.index.values()), default=0)
        self._memmap: np.ndarray | None = None
        self._pending = 0

    def __contains__(self, content_hash: str) -> bool:
        return content_hash in self.index

    def __len__(self) -> int:
        return len(self.index)

    def missing(self, hashes: list[str]) -> list[str]:
        return [h for h in hashes if h not in self.index]

    def get(self, content_hash: str) -> np.ndarray:
        """The log-mel matrix (n_mels, T) float32 of one clip; KeyError when absent."""
        start, n = self.index[content_hash]
        if self._memmap is None or self._memmap.shape[0] < start + n:
            M = self.config.n_mels
            self._memmap = np.memmap(self._frames_path, dtype=np.float16, mode="r").reshape(-1, M)
        return np.asarray(self._memmap[start : start + n], dtype=np.float32).T

    def add(self, content_hash: str, logmel: np.ndarray) -> None:
        """Append one clip (n_mels, T). Call `flush` to make additions durable."""
        if content_hash in self.index:
            return
        rows = np.ascontiguousarray(logmel.T, dtype=np.float16)  # (T, M)
        with open(self._frames_path, "ab") as f:
            if f.tell() != self._rows * self.config.n_mels * 2:
                f.truncate(self._rows * self.config.n_mels * 2)  # cut rows a crash left unindexed
            f.write(rows.tobytes())
        self.index[content_hash] = (self._rows, rows.shape[0])
        self._rows += rows.shape[0]
        self._pending += 1
        if self._pending >= 256:
            self.flush()

    def flush(self) -> None:
        if self._pending:
            with open(self._frames_path, "ab") as f:
                os.fsync(f.fileno())
            write_json_atomic(self._index_path, self.index)
            self._pending = 0
