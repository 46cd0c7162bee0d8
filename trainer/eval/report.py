"""The evaluation report: markdown tables in the shape of the paper's Table 1, figures, raw JSON."""

from __future__ import annotations

import json
import platform
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

from trainer.eval.builtin import BUILTIN_TASKS
from trainer.eval.embed import SEEN_IN_TRAINING
from trainer.eval.outofsource import GALLERY
from trainer.eval.run import MFCC_ROW, EvalResult, TaskResult, bundle_row

GOAL_POINTS = 5.0
ANALOGUE_NOTE = (
    "Built-in tasks (marked *) are analogues built from Debian packages, not the paper's datasets: "
    "`instruments` stands in for NSynth, `sound-events` for UrbanSound8K, and `drums` has no "
    "counterpart in the paper. Their figures are not comparable with the paper's Table 1."
)

RETRIEVAL_NOTE = (
    "Text→audio retrieval (each clip's own tags as the query, among all held-out clips). First hits: "
    "over the training clips' own tag queries, how many different clips come first (few means a handful "
    "of hub sounds wins every query)."
)
ONE_WORD_NOTE = (
    "One-word searches: each vocabulary word that at least 3 held-out clips carry is a query among "
    "the held-out clips, those clips relevant; mAP with the word's own φ_w and as served, in the "
    "catalogue's tag contexts (the training clips' tag sets that hold the word: index/contexts.py)."
)
TAGGING_NOTE = "Tag suggestion: the top 5 vocabulary tags of each method against the clip's real tags."
ZERO_SHOT_NOTE = (
    "Each class name, split into words, is embedded as a tag query (φ_w); every clip takes the class "
    "of highest probability, scored as `POST /classify` scores (in the catalogue's tag contexts, "
    "centred with its means). "
    "Accuracy and chance in %: chance is 1 / classes and the majority class's share; classes whose words "
    "have no word vector are not scored."
)


def _task_label(name: str) -> str:
    return f"{name}*" if name in BUILTIN_TASKS else name


def classification_table(result: EvalResult) -> list[str]:
    tasks = result.tasks
    rows = list(dict.fromkeys(r for t in tasks for r in t.accuracy))
    head = "| embedding | " + " | ".join(_task_label(t.name) for t in tasks) + " |"
    lines = [head, "|" + "---|" * (len(tasks) + 1)]
    for row in rows:
        cells = [str(t.accuracy[row]) if row in t.accuracy else "–" for t in tasks]
        lines.append(f"| {row} | " + " | ".join(cells) + " |")
    return lines


def goal_table(result: EvalResult, bundles: dict) -> list[str]:
    lines = ["| task | embedding | MFCC | learned | Δ points | ≥ 5 points |", "|---|---|---|---|---|---|"]
    for t in result.tasks:
        for name, bundle in bundles.items():
            row = bundle_row(name, bundle)
            if row not in t.accuracy:
                continue
            delta = 100 * (t.accuracy[row].mean - t.accuracy[MFCC_ROW].mean)
            met = "yes" if delta >= GOAL_POINTS else "**no**"
            lines.append(
                f"| {_task_label(t.name)} | {name} | {t.accuracy[MFCC_ROW]} | {t.accuracy[row]} | "
                f"{delta:+.1f} | {met} |"
            )
    return lines


def zero_shot_table(result: EvalResult) -> list[str]:
    lines = [
        "| task | bundle | accuracy | chance 1/C | majority class | ≥ 2 × majority | clips | classes scored "
        "|",
        "|---|---|---|---|---|---|---|---|",
    ]
    for t in result.tasks:
        for name, zs in t.zero_shot.items():
            if zs is None:
                none = "no class name has a word vector"
                lines.append(f"| {_task_label(t.name)} | {name} | – | – | – | – | 0 | {none} |")
                continue
            missing = f" (no vector: {', '.join(zs.unknown_classes)})" if zs.unknown_classes else ""
            met = "yes" if zs.accuracy >= 2 * zs.majority else "**no**"
            lines.append(
                f"| {_task_label(t.name)} | {name} | {100 * zs.accuracy:.1f} | {100 * zs.chance:.1f} | "
                f"{100 * zs.majority:.1f} | {met} | {zs.n} | {len(zs.classes)}/{len(t.classes)}{missing} |"
            )
    return lines


def out_of_source_tables(result: EvalResult) -> list[str]:
    """One row a bundle: zero-shot, retrieval by tags and by names, tag suggestion per method."""
    lines = [
        "| bundle | zero-shot top-1 (chance, classes, clips) "
        f"| recall@10 by tags (chance, n, median rank; in galleries of {GALLERY}; ceilings) "
        "| recall@10 by names (n) | tags hit@5 / P@5: neighbours | fusion | embedding "
        "| 1-NN probe: z_a / MFCC |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, fig in result.out_of_source.items():
        if fig is None:
            lines.append(f"| {name} | not trained with the out-of-source split | – | – | – | – | – | – |")
            continue
        z, t, n = fig.zero_shot, fig.retrieval_tags, fig.retrieval_names
        shot = f"{z['accuracy']:.3f} ({z['chance']:.3f}, {len(z['classes'])}, {z['n']})" if z else "–"
        by_tags = (
            f"{t['recall@10']:.3f} ({t['chance_recall@10']:.3f}, {t['n']}, {t['median_rank']:.0f}"
            + (f"; {t['gallery_recall@10']:.3f}" if "gallery_recall@10" in t else "")
            + (f"; {t['ceiling_recall@10']:.3f}" if "ceiling_recall@10" in t else "")
            + (f" / {t['gallery_ceiling_recall@10']:.3f}" if "gallery_ceiling_recall@10" in t else "")
            + ")"
            if t
            else "–"
        )
        by_names = f"{n['recall@10']:.3f} ({n['n']})" if n else "–"
        tags = [
            f"{g['hit@5']:.3f} / {g['precision@5']:.3f}" if (g := fig.tagging.get(m)) else "–"
            for m in ("neighbours", "fusion", "embedding")
        ]
        p = fig.probe
        probe = f"{p['z_a']:.3f} / {p['mfcc']:.3f}" if p else "–"
        lines.append(f"| {name} | {shot} | {by_tags} | {by_names} | " + " | ".join(tags) + f" | {probe} |")
    classes = next((f.zero_shot.get("classes") for f in result.out_of_source.values() if f), None)
    if classes:
        lines += [
            "",
            "Zero-shot classes (clips): " + ", ".join(f"{c} ({k})" for c, k in classes.items()) + ".",
        ]
    return lines


def catalogue_tables(result: EvalResult) -> list[str]:
    lines = [
        "| bundle | clips | recall@1 | recall@5 | recall@10 | mAP@10 | chance recall@10 | first hits |",
        "|---|---|---|---|---|---|---|---|",
    ]
    one_word = [
        "| bundle | held-out clips | words | mAP, own φ_w | mAP, served (in context) |",
        "|---|---|---|---|---|",
    ]
    tagging = [
        "| bundle | clips | method | precision@5 | recall@5 |",
        "|---|---|---|---|---|",
    ]
    for name, fig in result.catalogue.items():
        if fig is None:
            lines.append(f"| {name} | 0 | – | – | – | – | – |")
            continue
        for label, r in ((name, fig.retrieval), (f"{name}, centred as the index", fig.retrieval_centred)):
            if r:
                cells = [r[k] for k in ("recall@1", "recall@5", "recall@10", "map@10", "chance_recall@10")]
                hubs = f"{r['distinct_first_hits']} of {r['pool']}" if "pool" in r else "–"
                lines.append(
                    f"| {label} | {r['n']} | " + " | ".join(f"{c:.3f}" for c in cells) + f" | {hubs} |"
                )
        if fig.one_word:
            o = fig.one_word
            cells = f"{o['map_own']:.3f} | {o['map_served']:.3f}"
            one_word.append(f"| {name} | {o['n']} | {o['words']} | {cells} |")
        methods = {
            "fusion: mean of the two below": fig.tagging.get("fusion"),
            "embedding: softmax of φ_a · φ_w over the tags": fig.tagging.get("embedding"),
            "neighbours: tags of the 10 nearest training clips (z_a)": fig.tagging.get("neighbours"),
            "the 5 most frequent tags (floor)": fig.tagging_popularity,
        }
        for method, g in methods.items():
            if g:
                tagging.append(
                    f"| {name} | {g['n']} | {method} | {g['precision@5']:.3f} | {g['recall@5']:.3f} |"
                )
    return (
        [RETRIEVAL_NOTE, ""] + lines + ["", ONE_WORD_NOTE, ""] + one_word + ["", TAGGING_NOTE, ""] + tagging
    )


def task_notes(t: TaskResult, about: dict | None) -> list[str]:
    counts = {c: int((t.labels == c).sum()) for c in t.classes}
    per_class = ", ".join(f"{c} {n}" for c, n in counts.items())
    line = f"- **{_task_label(t.name)}**: {len(t.labels)} clips, {len(t.classes)} classes ({per_class})"
    seen = sum(1 for _, why in t.failures if why == SEEN_IN_TRAINING)
    if seen:
        line += f"; {seen} clip(s) left out because the same audio is in the training catalogue"
    if len(t.failures) > seen:
        line += f"; {len(t.failures) - seen} clip(s) could not be decoded and were left out"
    out = [line + "."]
    if about:
        sources = ", ".join(f"{k} {v}" for k, v in about.get("built_from", {}).items())
        out.append(f"  Built from {sources}; {about.get('folds', '')}.")
    for row, n in t.clips_used.items():
        if n != len(t.labels):
            out.append(f"  `{row}` uses the {n} clips that have at least one known tag.")
    return out


def task_sections(result: EvalResult, bundles: dict, repeats: int) -> list[str]:
    """Downstream classification, its goal, and zero-shot on the tasks."""
    return [
        "## Downstream classification (the paper's protocol)",
        "",
        f"Accuracy in % (mean ± std over {repeats} seeds) of an MLP with one hidden layer of 256 units on "
        "embeddings standardised with training-split statistics; each figure is averaged over the task's "
        "folds. z_a is the audio encoder's output mean-pooled over non-overlapping 96-frame patches.",
        "",
        *classification_table(result),
        "",
        ANALOGUE_NOTE,
        "",
        "### Against the goal: the learned embedding beats MFCC by at least 5 points",
        "",
        *goal_table(result, bundles),
        "",
        "## Zero-shot classification",
        "",
        ZERO_SHOT_NOTE,
        "",
        *zero_shot_table(result),
        "",
    ]


def write_report(
    result: EvalResult,
    bundles: dict,
    out: Path,
    figures: dict[str, list[Path]],
    abouts: dict[str, dict],
    command: str,
    repeats: int,
) -> Path:
    """report.md and results.json in `out`; figure paths are written relative to it."""
    out.mkdir(parents=True, exist_ok=True)
    md = [
        f"# audiotag evaluation, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "",
        f"Command: `{command}` on {platform.machine()} / {platform.processor() or platform.system()}.",
        "",
        "Bundles: "
        + ", ".join(f"`{n}` ({b.manifest.get('variant', '?')})" for n, b in bundles.items())
        + ".",
        "",
    ]
    if result.tasks:
        md += task_sections(result, bundles, repeats)
    if any(result.out_of_source.values()):
        md += [
            "## Out of source",
            "",
            "The clips of the out-of-source packages (index/corpus/heldout.py), which the bundle never "
            "trained on; tag suggestion votes over the training clips only. The figures that count.",
            "",
            *out_of_source_tables(result),
            "",
        ]
    if result.catalogue:
        md += [
            "## Held-out catalogue clips",
            "",
            "The bundles' validation clips: the out-of-source packages' for bundles trained with that "
            "split, else a hash of each sound id (then often another take of a trained recording).",
            "",
            *catalogue_tables(result),
            "",
        ]
    md += ["## Tasks", ""] if result.tasks else []
    for t in result.tasks:
        md += task_notes(t, abouts.get(t.name))
    md += ["", "## Figures", ""] if result.tasks else []
    for t in result.tasks:
        for path in figures.get(t.name, []):
            md.append(f"![{path.stem}]({path.relative_to(out).as_posix()})")
        md.append("")
    report = out / "report.md"
    report.write_text("\n".join(md))
    (out / "results.json").write_text(json.dumps(_raw(result), indent=1))
    return report


def _raw(result: EvalResult) -> dict:
    return {
        "bundles": result.bundles,
        "tasks": {
            t.name: {
                "clips": len(t.labels),
                "classes": t.classes,
                "failures": len(t.failures),
                "accuracy": {
                    r: {"mean": a.mean, "std": a.std, "runs": a.runs} for r, a in t.accuracy.items()
                },
                "zero_shot": {n: _without_predictions(z) for n, z in t.zero_shot.items()},
            }
            for t in result.tasks
        },
        "catalogue": {n: asdict(f) if f else None for n, f in result.catalogue.items()},
        "out_of_source": {n: asdict(f) if f else None for n, f in result.out_of_source.items()},
    }


def _without_predictions(zs) -> dict | None:
    return {k: v for k, v in asdict(zs).items() if k != "predictions"} if zs else None
