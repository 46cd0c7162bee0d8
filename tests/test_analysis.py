"""Decoding in worker processes: what a worker imports."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import make_corpus

# A main module that notes each import of itself, then decodes in two worker processes.
MAIN = """
import sys
from pathlib import Path
with open(sys.argv[1], "a") as log:
    log.write("imported\\n")
if __name__ == "__main__":
    from model.analysis import analyse_many
    from model.audio import AudioLimits
    from model.features import FeatureConfig
    paths = sorted(str(p) for p in Path(sys.argv[2]).glob("*.wav"))
    results = list(analyse_many(paths, AudioLimits(), FeatureConfig(), workers=2))
    print(sum(r.logmel is not None for r in results))
"""


def test_decoding_workers_do_not_import_the_main_module(tmp_path: Path) -> None:
    """`audiotag`'s main module imports torch and FAISS (seconds of a core): workers skip it."""
    make_corpus(tmp_path / "audio", n=8)
    (tmp_path / "main.py").write_text(MAIN)
    log = tmp_path / "imports.log"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    proc = subprocess.run(
        [sys.executable, str(tmp_path / "main.py"), str(log), str(tmp_path / "audio")],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "8"  # every clip decoded, in the workers
    assert log.read_text().splitlines() == ["imported"]  # by the parent alone
