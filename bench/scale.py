"""The rates docs/scaling.md projects from: indexing on Ray clusters of 1 and 2 nodes, index memory
per vector, and training in 1 and 2 processes (torchrun).

    python -m bench.scale [--data-dir DIR] [--vectors 50000]

1. Cold index builds of DIR's catalogue (the built-in demo corpus after `audiotag demo`), from an
   empty feature cache: here (decoding processes + this one embedding), and on a local Ray cluster
   of one and of two nodes of one CPU each. Floor: the encoder alone over the cached log-mels, in
   one process with every core, the same run.
2. Bytes per vector of each index type, built on synthetic clustered vectors; 1M and 10M scaled.
3. One training epoch on DIR's catalogue in one process and under `torchrun --nproc-per-node 2`
   (same global batch, same cores): samples/s and the ratio.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.index import TYPES, clustered, encoder_alone
from bench.ports import free_port
from bench.ray_cluster import local_cluster
from bench.report import machine, markdown_table, show, write_section
from index import vector_index
from index.catalogue.db import Catalogue
from index.indexer import Corpus, IndexOptions, build_version
from model.bundle import Bundle
from model.bundles import latest_bundle
from model.cache import FeatureCache
from model.features import FeatureConfig
from model.memory import keep_freed_memory


def cold_build(
    bundle: Bundle, catalogue: Catalogue, tmp: Path, workers: int, ray: str | None
) -> tuple[float, float, FeatureCache]:
    """(wall seconds, audio seconds, the cache it filled) of a build from an empty feature cache, in a
    scratch folder."""
    cache = FeatureCache(Path(tempfile.mkdtemp(dir=tmp)), FeatureConfig())
    start = time.perf_counter()
    options = IndexOptions(shard_size=64, ray_address=ray)
    corpus = Corpus(catalogue, cache, workers=workers)
    _, t = build_version(bundle, corpus, Path(tempfile.mkdtemp(dir=tmp)), options)
    return time.perf_counter() - start, t["audio_seconds"], cache


def indexing(data_dir: Path, workers: int) -> list[list[str]]:
    bundle = Bundle(latest_bundle(data_dir / "bundles"), "cpu")
    catalogue = Catalogue(f"sqlite:///{data_dir / 'catalogue.db'}")
    with tempfile.TemporaryDirectory() as tmp:
        wall, audio, cache = cold_build(bundle, catalogue, Path(tmp), workers, None)
        encoder_s, _ = encoder_alone(bundle, cache)  # over the features that build decoded
        runs = [(f"here: {workers} decoding processes + this one", 1, wall, audio)]
        for nodes in (1, 2):
            with local_cluster(nodes=nodes, cpus_per_node=1) as cluster:
                wall, audio, _ = cold_build(bundle, catalogue, Path(tmp), 1, cluster.address)
            runs.append((f"Ray: {nodes} node{'s' * (nodes > 1)} × 1 CPU", nodes, wall, audio))
    audio = runs[0][3]
    one_node = runs[1][3] / runs[1][2]
    rows = []
    for label, nodes, wall, seconds in runs:
        rate = seconds / wall
        per_node = f"{rate / nodes:,.0f}×" if label.startswith("Ray") else "–"
        efficiency = f"{rate / (nodes * one_node):.2f}" if label.startswith("Ray") else "–"
        rows.append([label, f"{seconds / 60:.1f} min", f"{wall:.1f} s", f"{rate:,.0f}×", per_node, efficiency,
                     f"{encoder_s / wall:.2f}×"])  # fmt: skip
    rows.append(["floor: the encoder alone on cached log-mels (all cores)", f"{audio / 60:.1f} min",
                 f"{encoder_s:.1f} s", f"{audio / encoder_s:,.0f}×", "–", "–", "1.00×"])  # fmt: skip
    catalogue.close()
    return rows


def index_memory(n: int) -> list[list[str]]:
    rows = []
    for dim, types in TYPES.items():
        x = clustered(n, dim, seed=dim)
        for factory in types:
            index = vector_index.build(x, np.arange(n, dtype=np.int64), factory)
            with tempfile.NamedTemporaryFile() as f:
                vector_index.write(index, Path(f.name))
                per_vector = os.path.getsize(f.name) / n
            rows.append([f"{dim}", factory, f"{per_vector:,.0f} B", f"{per_vector * 1e6 / 2**30:.2f} GiB",
                         f"{per_vector * 1e7 / 2**30:.1f} GiB"])  # fmt: skip
    return rows


def _samples_per_s(output: str) -> float:
    found = re.search(r"throughput\s*│?\s*([\d,.]+) samples/s", output)
    if not found:
        raise RuntimeError(f"no throughput in the training output:\n{output[-2000:]}")
    return float(found.group(1).replace(",", ""))


def training(data_dir: Path, batch: int) -> list[list[str]]:
    """One epoch, one process (every core) and two processes (one core each), same global batch."""
    flags = ["train", "--epochs", "1", "--batch-size", str(batch), "--device", "cpu", "--last-epoch"]
    env = {**os.environ, "COLUMNS": "200"}
    bindir = Path(sys.executable).parent
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(
            shutil.copytree(data_dir, Path(tmp) / "data", ignore=shutil.ignore_patterns("runs", "indices"))
        )
        single = [str(bindir / "audiotag"), "--data-dir", str(data), *flags]
        multi = [str(bindir / "torchrun"), "--nproc-per-node", "2", "--master-port", str(free_port()),
                 "-m", "app", "--data-dir", str(data), *flags]  # fmt: skip
        rates = []
        for label, cmd, extra in (("1 process", single, {}), ("torchrun: 2 processes", multi,
                                                              {"OMP_NUM_THREADS": "1"})):  # fmt: skip
            done = subprocess.run(cmd, capture_output=True, text=True, env={**env, **extra}, check=False)
            if done.returncode:
                raise RuntimeError(f"{label} failed:\n{done.stderr[-2000:]}")
            rates.append(_samples_per_s(done.stdout))
            rows.append([label, str(batch), f"{rates[-1]:,.0f}", f"{rates[-1] / rates[0]:.2f}×"])
    return rows


INDEXING_NOTE = (
    "Real time = seconds of audio indexed per wall-clock second, from an empty feature cache to an index "
    "version. Ray nodes run on this machine (loopback), one CPU each, one task per shard of 64 sounds; "
    "scaling efficiency = the rate over (nodes × the one-node rate). Floor: the encoder alone over the "
    "cached log-mels, in one process with every core."
)
MEMORY_NOTE = (
    "Bytes per vector of each index file, built on {n:,} synthetic clustered unit vectors (IVF: 1024 "
    "lists), scaled linearly; a served index is held in memory whole."
)
TRAINING_NOTE = (
    "One epoch of `audiotag train` on the catalogue, the default recipe on the CPU: one process with every "
    "core, and `torchrun --nproc-per-node 2` (gloo, one core each, the same global batch). The floor is the "
    "one-process run on the same cores."
)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-dir", type=Path, default=Path(os.environ.get("AUDIOTAG_DATA_DIR", "")))
    parser.add_argument("--vectors", type=int, default=50_000)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()
    keep_freed_memory()  # as the batch commands it measures do
    print(machine())
    sections = []
    for title, cols, rows, note in (
        ("Indexing here and on a Ray cluster",
         ["build (cold)", "audio", "wall", "real time", "per node", "scaling efficiency",
          "encoder-alone rate ×"],
         indexing(args.data_dir, args.workers), INDEXING_NOTE),
        ("Index memory", ["dim", "index", "per vector", "at 1M", "at 10M"], index_memory(args.vectors),
         MEMORY_NOTE.format(n=args.vectors)),
        ("Training in one and two processes", ["training", "global batch", "samples/s", "× one process"],
         training(args.data_dir, args.batch_size), TRAINING_NOTE),
    ):  # fmt: skip
        show(title, cols, rows)
        sections.append(f"### {title}\n\n{markdown_table(cols, rows)}\n\n{note}")
    write_section("Scaling: Ray indexing, index memory, torchrun training", "\n\n".join(sections))


if __name__ == "__main__":
    main()
