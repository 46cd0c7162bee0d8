"""What a corpus covers: clips per top-level sound category, by the words of their tags.

The categories are the everyday sounds people search for. A clip counts in every category one of its
(normalised) tag words names, and in `other` when none does; the figures say where a model trained on
the corpus can be expected to hear well, and where it has seen little.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

CATEGORIES: dict[str, frozenset[str]] = {
    name: frozenset(words.split())
    for name, words in {
        "animals": "animal bird dog cat cow horse pig sheep goat chicken hen rooster duck owl crow gull "
        "frog insect cricket bee fly wolf lion bear elephant monkey fauna creature dragon gryphon "
        "neigh bark meow moo howl roar chirp tweet growl hiss snake",
        "musical instruments": "note instrument piano keyboard guitar bass string violin cello flute "
        "brass trumpet trombone horn sax reed organ mallet marimba xylophone drum snare kick tom "
        "hihat cymbal ride crash clap cowbell percussion synth bell harp choir vocal chord strum "
        "tabla loop beat",
        "human non-speech": "scream yell shout laugh cry cough sneeze breath breathing grunt pain "
        "death die groan sigh whistle applause clapping footstep step walk walking run running "
        "jump eat",
        "vehicles": "car engine motor truck tractor train plane aircraft airplane helicopter boat "
        "ship tank vehicle bike motorcycle horn siren brake tire wheel",
        "household": "door glass plate cup water tap toilet clock phone telephone keyboard typing "
        "switch drawer kitchen chair knock key lock paper coin money",
        "nature": "rain thunder storm wind water river stream wave sea ocean fire forest ambience "
        "ambient waterfall cave rock stone wood leaf leaves grass dirt snow ice",
        "weapons and combat": "weapon gun rifle pistol shot shoot gunshot explosion explode bomb "
        "sword blade arrow bow attack hit impact punch shield fight laser",
        "speech": "speech spoken talk",
        "interface": "beep click notification alert message button menu interface error dialog "
        "complete login logout",
    }.items()
}


def categories_of(tags: Iterable[str]) -> list[str]:
    """The categories a clip's tag words name; ["other"] when they name none."""
    words = set(tags)
    return [name for name, vocabulary in CATEGORIES.items() if words & vocabulary] or ["other"]


def coverage(tag_sets: Iterable[Iterable[str]]) -> Counter:
    """Clips per category (a clip may count in several; `other` when it names none)."""
    counts: Counter = Counter()
    for tags in tag_sets:
        counts.update(categories_of(tags))
    return counts
