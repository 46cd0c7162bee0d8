"""Figures on sounds from sources the model never trained on, as every user's sounds are.

The held-out clips of a bundle trained with `val_split="sources"` are those of the out-of-source
packages (index/corpus/heldout.py); the training clips are the catalogue tag suggestion votes over
and whose tag sets give queries their contexts. On them:
- zero-shot top-1 over everyday classes named by the clips' own tags (a clip with exactly one class
  among its tag words has that label; classes with at least `MIN_CLIPS` clips are scored);
- text→audio recall@10 among all held-out clips, and in random galleries of `GALLERY` of them, with
  each clip's tag words (every word with a vector, in the vocabulary or not) and, apart, its name's
  words as the query, searched as the service searches (index/exemplars.py), beside its ceiling
  (clips whose words are the same share one query and one ranking);
- tag suggestion hit@5 (one of the 5 suggested tags is among the clip's tag words), P@5 and R@5,
  per method;
- a leave-one-out nearest-neighbour probe of z_a against MFCC statistics on the labelled clips.
Every score comes from `index.scoring.Scorer`, as the service answers.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from index.corpus.heldout import is_out_of_source
from index.scoring import Scorer
from index.tag_votes import VoteSearch
from model.tags import normalise_tags
from trainer.eval.catalogue import (
    CatalogueClips,
    held_out_votes,
    neighbour_votes,
    served_scores,
    tagging_figures,
)
from trainer.eval.zeroshot import zero_shot
from trainer.metrics import gallery_recall, recall_ceiling, score_retrieval

MIN_CLIPS = 5
GALLERY = 282  # retrieval is also scored in galleries of this size: the quality issue's first measurement

# Everyday classes and the tag words that name each (a clip's tags are normalised first).
EVERYDAY_CLASSES: dict[str, frozenset[str]] = {
    name: frozenset(words.split())
    for name, words in {
        "dog": "dog bark woof",
        "cat": "cat meow",
        "wolf": "wolf howl",
        "bird": "bird birdchirp chirp tweet songbird",
        "horse": "horse neigh gallop",
        "cow": "cow moo",
        "sheep": "sheep",
        "chicken": "chicken hen rooster",
        "rabbit": "rabbit",
        "explosion": "explosion explode blast",
        "gunshot": "gunshot gun rifle pistol",
        "fire": "fire flame",
        "water": "water splash",
        "rain": "rain",
        "thunder": "thunder",
        "wind": "wind",
        "engine": "engine motor",
        "helicopter": "helicopter",
        "car horn": "carhorn",
        "door": "door",
        "glass": "glass",
        "bell": "bell",
        "coin": "coin",
        "footsteps": "footstep step",
        "scream": "scream",
        "laugh": "laugh",
        "guitar": "guitar",
        "piano": "piano",
        "snare drum": "snare",
        "cymbal": "cymbal",
        "tom drum": "tom",
        "hi-hat": "hihat",
        "kick drum": "kick",
        "hand clap": "clap",
        "conga": "conga",
        "bongo": "bongo",
    }.items()
}


def everyday_label(words: list[str]) -> str | None:
    """The one everyday class named among a clip's tag words; None for none, or several."""
    hits = [name for name, names in EVERYDAY_CLASSES.items() if names.intersection(words)]
    return hits[0] if len(hits) == 1 else None


@dataclass
class OutOfSourceFigures:
    zero_shot: dict  # accuracy, chance, majority, n, clips per class scored
    retrieval_tags: dict  # recall@1/5/10, median rank, chance, n: tag words as queries
    retrieval_names: dict  # the same with the name's words as queries
    tagging: dict[str, dict]  # method → hit@5, precision@5, recall@5, n
    probe: dict  # leave-one-out nearest-neighbour accuracy on the labelled clips: z_a, MFCC, n


def out_of_source_figures(
    clips: CatalogueClips, names: dict[str, str], scorer: Scorer
) -> OutOfSourceFigures | None:
    """None unless every held-out clip comes from an out-of-source package."""
    if not clips.val_uids or not all(map(is_out_of_source, clips.val_uids)):
        return None
    items = scorer.searchable(clips.phi_val)  # (n, F + 1) as the index holds them
    shares = neighbour_votes(clips, scorer)  # (n, C): for tag suggestion and for search
    votes = held_out_votes(shares, scorer, items)
    labels = [everyday_label(w) for w in clips.val_words]
    counts = Counter(y for y in labels if y is not None)
    classes = sorted(c for c, n in counts.items() if n >= MIN_CLIPS)
    shot = zero_shot(scorer, clips.phi_val, np.array(labels, dtype=object), classes) if classes else None
    return OutOfSourceFigures(
        zero_shot={
            "accuracy": shot.accuracy,
            "chance": shot.chance,
            "majority": shot.majority,
            "n": shot.n,
            "classes": {c: counts[c] for c in shot.classes},
        }
        if shot
        else {},  # fmt: skip
        retrieval_tags=_retrieval(scorer, items, votes, clips.val_words),
        retrieval_names=_retrieval(
            scorer, items, votes, [normalise_tags([names.get(u, "")]) for u in clips.val_uids]
        ),
        tagging=tagging_figures(clips, scorer, clips.val_words, shares),
        probe=_probe(clips, labels, classes),
    )


def _retrieval(scorer: Scorer, items: np.ndarray, votes: VoteSearch, word_lists: list[list[str]]) -> dict:
    """Each clip's known words as a query for it among all held-out clips (clips without: left out),
    searched as served: `items` (n, F + 1) as `Scorer.searchable` made them, their `votes`."""
    known = [scorer.bundle.split_known(words)[0] for words in word_lists]
    rows = np.array([i for i, k in enumerate(known) if k], int)
    if len(rows) == 0:
        return {}
    scores = served_scores(scorer, votes, items, [known[i] for i in rows])  # (Q, n)
    keys = [" ".join(sorted(set(known[i]))) for i in rows]
    return (
        score_retrieval(scores, own=rows)
        | gallery_recall(scores, rows, GALLERY)
        | recall_ceiling(keys, rows, len(items), GALLERY)
    )


def nearest_neighbour_accuracy(x: np.ndarray, y: np.ndarray) -> float:
    """Leave-one-out 1-NN accuracy of features x (n, D), standardised, by cosine; labels y (n,)."""
    x = (x - x.mean(axis=0)) / (x.std(axis=0) + 1e-8)
    x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    sims = x @ x.T
    np.fill_diagonal(sims, -np.inf)
    return float((y[np.argmax(sims, axis=1)] == y).mean())


def _probe(clips: CatalogueClips, labels: list[str | None], classes: list[str]) -> dict:
    """Does z_a hear the everyday classes better than MFCC statistics do, on clips never trained on?"""
    rows = np.array([i for i, y in enumerate(labels) if y in classes], int)
    if len(rows) < 2:
        return {}
    y = np.array([labels[i] for i in rows])
    return {
        "z_a": nearest_neighbour_accuracy(clips.z_val[rows], y),
        "mfcc": nearest_neighbour_accuracy(clips.val_mfcc[rows], y),
        "n": len(rows),
    }
