"""Hybrid search measured: by words, by sound and both fused, on a catalogue with its words and on a
copy with every tag, name and description stripped.

Query sets, each query a text and the catalogue sounds relevant to it:
- `own tags`: each tagged sound's tags (as written) find that recording: the sound and the other
  takes of it (`step_dirt1`, `step_dirt2`: index/corpus/heldout.group_key), among which a search
  cannot tell by their words;
- `held-out clips`: the same, for the clips the bundle held out of training (trainer/eval/catalogue);
- `one word`: each tag word that at least `MIN_SOUNDS` sounds carry finds every sound carrying it.
recall@10 is the share of a query's relevant sounds among its first 10 (of at most 10 of them);
mAP@10 the mean of average precision over the first 10. Every ranking is the one `SearchIndex.search`
serves, from the same text and sound lists; the fusion's weight and K are chosen here, on the
catalogue with its words (without words, fusion passes the sound ranking through unchanged).

    python -m trainer.eval.hybrid --data-dir DATA_DIR [--out docs/hybrid-search.md]
"""

from __future__ import annotations

import shutil
import tempfile
from collections import Counter
from dataclasses import dataclass
from itertools import groupby
from pathlib import Path

import numpy as np

from index import hybrid
from index.catalogue.db import Catalogue
from index.catalogue.queries import live_ids_by_uid, strip_sound_words
from index.corpus.heldout import group_key, source_of
from index.indexer import Corpus, build_version
from index.search import SearchIndex
from index.text_index import TextHit, query_words
from model.bundle import UnknownTagsError
from model.cache import FeatureCache
from trainer.eval.catalogue import split_clips
from trainer.eval.served import arguments, emit, served_index

MIN_SOUNDS = 3
TIE_DRAWS = 20
WEIGHTS = (0.5, 0.7, 0.8, 0.9, 0.95, 0.98, 0.999)
KS = (1, 10, 60)


@dataclass
class QuerySet:
    name: str
    queries: list[str]
    relevant: list[set[int]]


@dataclass
class Lists:
    """One query's rankings as the index serves them: by words, hybrid's by sound (lifted by the
    sounds' neighbours' tags, index/tag_votes.py) and `mode=sound`'s (the model alone)."""

    text: list[TextHit]
    sound: list[tuple[int, float]]
    plain: list[tuple[int, float]]


def recordings(index: SearchIndex) -> dict[int, set[int]]:
    """Each live sound's recording: the ids of its takes (itself included)."""
    ids = live_ids_by_uid(index.catalogue)
    meta = index.metadata()
    groups: dict[str, set[int]] = {}
    key = {i: group_key(source_of(uid), meta[i].name) for uid, i in ids.items() if i in meta}
    for i, k in key.items():
        groups.setdefault(k, set()).add(i)
    return {i: groups[k] for i, k in key.items()}


def query_sets(index: SearchIndex, cache: FeatureCache) -> list[QuerySet]:
    sounds = [m for m in index.metadata().values() if query_words(" ".join(m.tag_names))]
    takes = recordings(index)
    own = QuerySet("own tags", [" ".join(m.tag_names) for m in sounds], [takes[m.id] for m in sounds])
    ids = live_ids_by_uid(index.catalogue)
    held = {ids[uid] for uid, *_ in split_clips(index.bundle, index.catalogue, cache)[0]}
    kept = [i for i, m in enumerate(sounds) if m.id in held]
    held_out = QuerySet("held-out clips", [own.queries[i] for i in kept], [own.relevant[i] for i in kept])
    carried = Counter(w for m in index.metadata().values() for w in set(m.tag_words))
    words = sorted(w for w, n in carried.items() if n >= MIN_SOUNDS)
    by_word = [{m.id for m in index.metadata().values() if w in m.tag_words} for w in words]
    return [own, held_out, QuerySet("one word", words, by_word)]


def lists(index: SearchIndex, query: str) -> Lists:
    try:
        text, sound, _ = index.both_rankings(query)
    except UnknownTagsError:  # neither part finds anything
        return Lists([], [], [])
    plain = index.search_by_tags([query], len(sound))[0] if sound else []  # sound hits: a known word
    return Lists(text, sound, plain)


def shuffled_ties(hits: list[TextHit], rng: np.random.Generator) -> list[TextHit]:
    """Text hits with each run of equal scores in a random order."""
    out: list[TextHit] = []
    for _, run in groupby(hits, key=lambda h: h.score):
        tied = list(run)
        out += [tied[i] for i in rng.permutation(len(tied))]
    return out


def ranking(found: Lists, mode: str, weight: float = hybrid.TEXT_WEIGHT, k: int = hybrid.K) -> list[int]:
    if mode == "text":
        matches = hybrid.text_only(found.text)
    elif mode == "sound":
        matches = hybrid.sound_only(found.plain)
    else:
        matches = hybrid.fuse(found.text, found.sound, weight, k)
    return [m.sound_id for m in matches[:10]]


def recall_and_ap(top: list[int], relevant: set[int]) -> tuple[float, float]:
    """recall@10 and average precision@10 of a top-10 list."""
    cap = min(10, len(relevant))
    hits = np.array([i in relevant for i in top[:10]], float)
    precision = np.cumsum(hits) / np.arange(1, len(hits) + 1) if len(hits) else hits
    return float(hits.sum() / cap), float((precision * hits).sum() / cap)


def figures(found: list[Lists], relevant: list[set[int]], mode: str, **fusion) -> tuple[float, float]:
    """Mean recall@10 and mAP@10 of one mode over a query set. `text` is scored tie-aware: the mean
    over `TIE_DRAWS` random orders of the sounds BM25 cannot tell apart (`text-id`: as served, in id
    order, which keeps the takes of one recording together because they were ingested together)."""
    if mode == "text":
        rng = np.random.default_rng(0)
        draws = [
            [Lists(shuffled_ties(f.text, rng), f.sound, f.plain) for f in found] for _ in range(TIE_DRAWS)
        ]
        runs = [figures(d, relevant, "text-id") for d in draws]
        return tuple(float(np.mean(column)) for column in zip(*runs, strict=True))
    mode = "text" if mode == "text-id" else mode
    pairs = [recall_and_ap(ranking(f, mode, **fusion), r) for f, r in zip(found, relevant, strict=True)]
    return tuple(float(np.mean(column)) for column in zip(*pairs, strict=True)) if pairs else (0.0, 0.0)


def stripped_copy(
    index: SearchIndex, catalogue_file: Path, cache: FeatureCache, work: Path, every: int = 1
) -> SearchIndex:
    """The catalogue (a SQLite file) copied without the words of one sound in `every` (by id) and
    indexed with the same model."""
    work.mkdir(parents=True, exist_ok=True)
    shutil.copy(catalogue_file, work / "catalogue.db")
    catalogue = Catalogue(f"sqlite:///{work / 'catalogue.db'}")
    strip_sound_words(catalogue, [i for i in index.metadata() if i % every == 0])
    corpus = Corpus(catalogue, cache)
    version, _ = build_version(index.bundle, corpus, work / "indices")
    return SearchIndex(work / "indices" / version, index.bundle, catalogue)


def measure(
    index: SearchIndex, stripped: SearchIndex, half: SearchIndex, cache: FeatureCache
) -> tuple[list[dict], list[dict]]:
    """The table (query set, catalogue, mode → recall@10, mAP@10) and the fusion grid (on the
    catalogue with words, and on the one with half its sounds' words)."""
    sets = query_sets(index, cache)
    table, grid = [], []
    catalogues = (("with words", index), ("words stripped", stripped), ("half stripped", half))
    for catalogue, served in catalogues:
        for qs in sets:
            found = [lists(served, q) for q in qs.queries]
            row = {"queries": qs.name, "catalogue": catalogue, "n": len(qs.queries)}
            for mode in (*hybrid.MODES, "text-id"):
                row[mode] = figures(found, qs.relevant, mode)
            table.append(row)
            if catalogue != "words stripped":  # without words the fusion is the sound ranking
                for w, k in ((w, k) for w in WEIGHTS for k in KS):
                    fused = figures(found, qs.relevant, "hybrid", weight=w, k=k)
                    grid.append({"queries": f"{qs.name}, {catalogue}", "weight": w, "k": k, "hybrid": fused})
    return table, grid


def markdown(table: list[dict], grid: list[dict], index: SearchIndex) -> str:
    lines = [
        f"Index {index.version} ({index.size} sounds), model {index.bundle.version}; "
        f"fusion weight {hybrid.TEXT_WEIGHT}, K {hybrid.K}.",
        "",
        "| queries | catalogue | n | text R@10 / mAP@10 | sound | hybrid | text, ties in id order |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in table:
        cells = " | ".join(f"{r[m][0]:.3f} / {r[m][1]:.3f}" for m in ("text", "sound", "hybrid", "text-id"))
        lines.append(f"| {r['queries']} | {r['catalogue']} | {r['n']} | {cells} |")
    lines += ["", "Fusion grid, hybrid R@10 / mAP@10:", ""]
    names = list(dict.fromkeys(g["queries"] for g in grid))
    lines += ["| weight | K | " + " | ".join(names) + " |", "|---|---|" + "---|" * len(names)]
    for w in WEIGHTS:
        for k in KS:
            cells = [
                g["hybrid"]
                for n in names
                for g in grid
                if g["queries"] == n and g["weight"] == w and g["k"] == k
            ]
            lines.append(f"| {w} | {k} | " + " | ".join(f"{r:.3f} / {a:.3f}" for r, a in cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser, args = arguments(__doc__)
    rt, index = served_index(args.data_dir)
    url = rt.settings.catalogue_url
    if not url.startswith("sqlite:///"):
        parser.error(f"the stripped copy needs a SQLite catalogue, not {url.split(':')[0]}")
    with tempfile.TemporaryDirectory() as work:
        file = Path(url.removeprefix("sqlite:///"))
        stripped = stripped_copy(index, file, rt.feature_cache, Path(work) / "stripped")
        half = stripped_copy(index, file, rt.feature_cache, Path(work) / "half", every=2)
        text = markdown(*measure(index, stripped, half, rt.feature_cache), index)
    emit(text, args.out)


if __name__ == "__main__":
    main()
