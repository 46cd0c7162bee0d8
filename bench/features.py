"""Feature extraction throughput: decode → resample → log-mel, in seconds of audio per second.

    python -m bench.features [--clips 240] [--seconds 5] [--corpus DIR]

Synthetic clips cover the usual rates (22.05, 44.1, 48 kHz), channel counts and formats (WAV, FLAC,
Ogg Vorbis, MP3); `--corpus` adds a run over real files (e.g. the built-in corpus's audio folder).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from bench.report import markdown_table, show, write_section
from bench.signals import tone, write_audio
from model.analysis import analyse_many
from model.audio import AUDIO_SUFFIXES, AudioLimits
from model.features import FeatureConfig
from model.memory import keep_freed_memory

KINDS = [("wav", 44100, 2), ("flac", 48000, 1), ("ogg", 44100, 2), ("mp3", 22050, 1)]


def make_clips(folder: Path, n: int, seconds: float) -> list[Path]:
    paths = []
    for i in range(n):
        fmt, sr, ch = KINDS[i % len(KINDS)]
        paths.append(write_audio(folder / f"{i}.{fmt}", tone(110 + 7 * i, seconds, sr, ch, seed=i), sr, fmt))
    return paths


def measure(paths: list[Path], workers: int) -> tuple[float, float, int]:
    """(seconds of audio, wall seconds, failures) for analysing every path."""
    limits, cfg = AudioLimits(), FeatureConfig()
    start = time.perf_counter()
    audio_s, failed = 0.0, 0
    for res in analyse_many([str(p) for p in paths], limits, cfg, workers):
        if res.error:
            failed += 1
        else:
            audio_s += res.info.duration
    return audio_s, time.perf_counter() - start, failed


def by_format(paths: list[Path]) -> list[list[str]]:
    """One process, one row per container format."""
    rows = []
    for fmt in sorted({p.suffix for p in paths}):
        audio_s, wall, failed = measure([p for p in paths if p.suffix == fmt], 1)
        rows.append(
            [f"{fmt[1:]} only", "1", f"{audio_s / 60:.1f} min", f"{wall:.1f} s", f"{audio_s / wall:,.0f}×"]
        )
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", type=int, default=400)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--corpus", type=Path, help="also measure the audio files under this folder")
    args = ap.parse_args()
    keep_freed_memory()  # as the batch commands it measures do
    processes = sorted({1, os.cpu_count() or 1})
    columns = ["clips", "processes", "audio", "wall", "real time"]
    with tempfile.TemporaryDirectory() as tmp:
        synthetic = make_clips(Path(tmp), args.clips, args.seconds)
        sets = [(f"synthetic: {args.clips} × {args.seconds:g} s, mixed", synthetic)]
        if args.corpus:
            real = sorted(p for p in args.corpus.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES)
            sets.append((f"built-in corpus: {len(real)} files", real))
        rows = by_format(synthetic)
        for name, paths in sets:
            for workers in processes:
                audio_s, wall, failed = measure(paths, workers)
                rows.append(
                    [
                        name,
                        str(workers),
                        f"{audio_s / 60:.1f} min",
                        f"{wall:.1f} s",
                        f"{audio_s / wall:,.0f}×",
                    ]
                )
    show("feature extraction (decode → resample → log-mel)", columns, rows)
    write_section(
        "Feature extraction",
        markdown_table(columns, rows) + "\n\n"
        "Real time = seconds of audio analysed per wall-clock second: hash, decode, mono-mix, "
        "resample to 22.05 kHz (libsoxr HQ), 96-band log-mel (numpy). Synthetic clips rotate WAV 44.1 kHz "
        "stereo, FLAC 48 kHz, Ogg Vorbis 44.1 kHz stereo and MP3 22.05 kHz. Wall time includes starting "
        "the worker processes.",
    )


if __name__ == "__main__":
    main()
