"""How well the served relevance (index/relevance.py) says how often a result is relevant, measured
on queries its curves were not fitted on: the held-out half of the catalogue's tag words (one-word
queries and pairs of them) and the tagged sounds with odd ids (`similar`).

A result's label is the share of the query's words it carries as tags (for `similar`, of the query
sound's tags); each result is binned by its relevance (tenths of 0–100) and a bin's mean relevance is
set beside its mean label. The expected calibration error (ECE) is the mean gap, weighted by the
results in each bin, in points of 0–100; the uncalibrated scale (the word share or the cosine as
0–100, what a version without curves serves) is measured on the same results.

    python -m trainer.eval.relevance --data-dir DATA_DIR [--out docs/relevance.md]
"""

from __future__ import annotations

import numpy as np

from index.relevance import Observations, Relevance, fitting_queries, fitting_words, tag_share
from index.search import SearchIndex
from index.text_index import query_words
from model.bundle import UnknownTagsError
from trainer.eval.served import arguments, emit, served_index

MODES = ("hybrid", "text", "sound", "similar")
TOP = 20  # results read of each query: two pages
PLAIN = Relevance({})


def served(index: SearchIndex) -> tuple[Observations, Observations]:
    """(calibrated, plain) pairs of (relevance / 100, label) for every mode on the held-out queries."""
    calibrated, plain = Observations.empty(MODES), Observations.empty(MODES)
    meta = index.metadata()
    queries = fitting_queries(fitting_words(meta, held=True))
    for mode in MODES[:3]:
        for query in queries:
            n_words = len(query_words(" ".join(query)))
            try:
                matches, _ = index.search(" ".join(query), k=TOP, mode=mode)
            except UnknownTagsError:
                continue
            for m in matches:
                sound = meta.get(m.sound_id)
                label, tagged = tag_share(query, sound), bool(sound and sound.tag_words)
                calibrated.add(mode, index.relevance.of_match(m, mode, n_words, tagged) / 100, label)
                plain.add(mode, PLAIN.of_match(m, mode, n_words, tagged) / 100, label)
    tagged = [i for i, m in meta.items() if m.tag_words and i % 2 == 1]
    for i in tagged[:: max(1, len(tagged) // 400)]:
        for h in index.similar_to_sound(i, k=TOP):
            label = tag_share(meta[i].tag_words, meta.get(h.sound_id))
            calibrated.add("similar", index.relevance.of("similar", h.score) / 100, label)
            plain.add("similar", PLAIN.of("similar", h.score) / 100, label)
    return calibrated, plain


def reliability(predicted: np.ndarray, label: np.ndarray) -> list[tuple[int, float, float]]:
    """(results, mean relevance, mean label) in each tenth of 0–1 holding results."""
    bins = np.minimum((predicted * 10).astype(int), 9)
    return [
        (int((bins == b).sum()), float(predicted[bins == b].mean()), float(label[bins == b].mean()))
        for b in range(10)
        if (bins == b).any()
    ]


def ece(predicted: np.ndarray, label: np.ndarray) -> float:
    """Expected calibration error in points of 0–100."""
    rows = reliability(predicted, label)
    total = sum(n for n, *_ in rows)
    return 100 * sum(n * abs(p - y) for n, p, y in rows) / max(total, 1)


def markdown(index: SearchIndex, calibrated: Observations, plain: Observations) -> str:
    curves = ", ".join(f"{m} ({c.points} results)" for m, c in index.relevance.curves.items()) or "none"
    lines = [
        f"Index {index.version} ({index.size} sounds), model {index.bundle.version}; "
        f"curves fitted: {curves}.",
        "",
        "| mode | results | ECE, calibrated | ECE, uncalibrated | mean label |",
        "|---|---|---|---|---|",
    ]
    for mode in MODES:
        (p, y), (q, _) = calibrated.arrays(mode), plain.arrays(mode)
        if len(p):
            lines.append(f"| {mode} | {len(p)} | {ece(p, y):.1f} | {ece(q, y):.1f} | {y.mean():.3f} |")
    lines += ["", "Reliability, calibrated (relevance bin: results, mean relevance → mean label × 100):", ""]
    lines += ["| mode | " + " | ".join(f"{10 * b}–{10 * b + 10}" for b in range(10)) + " |"]
    lines += ["|---|" + "---|" * 10]
    for mode in MODES:
        p, y = calibrated.arrays(mode)
        cells = {
            int(min(mp * 10, 9)): f"{n}: {100 * mp:.0f} → {100 * my:.0f}" for n, mp, my in reliability(p, y)
        }
        lines.append(f"| {mode} | " + " | ".join(cells.get(b, "") for b in range(10)) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    _, args = arguments(__doc__)
    _, index = served_index(args.data_dir)
    emit(markdown(index, *served(index)), args.out)


if __name__ == "__main__":
    main()
