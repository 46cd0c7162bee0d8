"""The figures of one bundle out of an `audiotag eval` results.json, for its manifest."""

from __future__ import annotations

from trainer.eval.run import MFCC_ROW


def bundle_summary(results: dict, version: str, command: str = "") -> dict:
    """Downstream accuracy against MFCC, zero-shot against chance, held-out retrieval and tagging."""
    if version not in results.get("bundles", []):
        raise ValueError(f"the evaluation has no figures of bundle {version}")
    tasks = {}
    for name, t in results.get("tasks", {}).items():
        rows = t["accuracy"]
        mine = next((v for k, v in rows.items() if k.startswith(f"{version} z_a")), None)
        zs = t.get("zero_shot", {}).get(version) or {}
        tasks[name] = {
            "mfcc_accuracy": rows[MFCC_ROW]["mean"],
            "z_a_accuracy": mine["mean"] if mine else None,
            "zero_shot": {k: zs.get(k) for k in ("accuracy", "chance", "majority", "n")},
        }
    catalogue = (results.get("catalogue") or {}).get(version) or {}
    served = catalogue.get("retrieval_centred") or {}
    one_word = catalogue.get("one_word") or {}
    oos = (results.get("out_of_source") or {}).get(version) or {}
    return {
        "command": command,
        "out_of_source": {
            "zero_shot": {k: (oos.get("zero_shot") or {}).get(k) for k in ("accuracy", "chance", "n")},
            "recall@10_tags": (oos.get("retrieval_tags") or {}).get("recall@10"),
            "recall@10_names": (oos.get("retrieval_names") or {}).get("recall@10"),
            "tag_hit@5": {m: v.get("hit@5") for m, v in (oos.get("tagging") or {}).items()},
            "probe_1nn": oos.get("probe"),
        }
        if oos
        else None,
        "tasks": tasks,
        "catalogue": {
            "recall@10": served.get("recall@10"),
            "chance_recall@10": served.get("chance_recall@10"),
            "tag_precision@5": {m: v["precision@5"] for m, v in (catalogue.get("tagging") or {}).items()},
            "one_word_map": {k: v for k, v in one_word.items() if k.startswith("map")},
        },
    }


def twin_figures(results: dict, twin: str = "", command: str = "") -> dict:
    """The out-of-source figures of a bundle's held-out twin, named: a bundle trained on every source
    reports those of its recipe trained without the out-of-source packages."""
    versions = results.get("bundles", [])
    if not twin:
        if len(versions) != 1:
            raise ValueError(f"name the twin: the evaluation has {len(versions)} bundles")
        twin = versions[0]
    figures = bundle_summary(results, twin, command)["out_of_source"]
    if figures is None:
        raise ValueError(f"bundle {twin} has no out-of-source figures: it trained on those sources")
    return {"twin": twin, "command": command, **figures}
