"""English singularisation for tags that never mangles a word which is already singular.

The reference code used `inflect.singular_noun`, which turns glass into "glas" and police into
"polouse". Here a word is only changed by a rule that is known to be safe for its ending, and the
endings where a rule would guess (-ss, -us, -is, -ous, -ics, ...) are left alone.
"""

from __future__ import annotations

# fmt: off
IRREGULAR = {
    "men": "man", "women": "woman", "children": "child", "feet": "foot", "teeth": "tooth", "geese":
    "goose", "mice": "mouse", "oxen": "ox", "cacti": "cactus", "fungi": "fungus", "leaves": "leaf",
    "wolves": "wolf", "knives": "knife", "lives": "life", "wives": "wife", "halves": "half", "shelves":
    "shelf", "thieves": "thief", "calves": "calf", "elves": "elf", "hooves": "hoof", "loaves": "loaf",
    "scarves": "scarf", "dwarves": "dwarf", "selves": "self", "analyses": "analysis", "crises":
    "crisis", "axes": "axe", "dice": "dice", "menus": "menu", "emus": "emu", "gurus": "guru", "tutus":
    "tutu", "haikus": "haiku", "skis": "ski", "taxis": "taxi", "kiwis": "kiwi", "bikinis": "bikini",
    "alibis": "alibi", "yetis": "yeti", "sushis": "sushi",
}
# fmt: on

# Words that end in s but are singular (or have no singular): never touched.
INVARIANT = frozenset(
    """
    afterwards aircraft alias always arkansas asbestos atlas backwards bias binoculars bus canvas
    chaos christmas clothes cosmos dais deer does downstairs ethos fish forwards gas goes has
    indoors its jeans kansas kudos lens mars mas mathematics means minus news outdoors overseas
    pancreas pants paris pathos perhaps pliers plus rhinoceros scissors series sheep shorts
    sometimes species texas thanks thermos this tongs towards tres trousers upstairs vegas venus was
    whereas yes
    """.split()
)

# A singular that ends in s: "<it>es" is its plural (buses -> bus).
_S_SINGULARS = frozenset(
    """
    abacus alias apparatus atlas bias bonus bus cactus campus canvas census chorus circus citrus
    corpus crocus focus fungus gas genius hiatus hippopotamus iris lens lotus nucleus octopus
    platypus plexus radius rebus sinus status stimulus tennis thesaurus torus virus walrus
    """.split()
)

# A singular that ends in ie: "<it>s" is its plural (zombies -> zombie, not "zomby").
_IE_SINGULARS = frozenset(
    """
    auntie aussie beanie birdie bogie boogie brownie budgie calorie collie cookie die eerie foodie
    freebie genie goalie groupie hippie hoodie hottie kiddie lassie lie magpie movie necktie newbie
    pie pixie prairie rookie selfie smoothie sortie talkie techie tie veggie walkie zombie
    """.split()
)

# A singular that ends in oe: "<it>s" is its plural (shoes -> shoe, but echoes -> echo).
_OE_SINGULARS = frozenset(
    """
    canoe floe foe hoe horseshoe oboe roe shoe sloe tiptoe toe
    """.split()
)

_KEEP_ENDINGS = ("ss", "us", "is", "ics")  # glass, bus, tennis, electronics; -ous is under -us


def singularise(word: str) -> str:
    """The singular of a lower-case English word; the word itself when unsure or already singular."""
    w = word
    if len(w) <= 3 or not w.endswith("s"):
        return IRREGULAR.get(w, w)
    if w in IRREGULAR:
        return IRREGULAR[w]
    if w in INVARIANT or w.endswith(_KEEP_ENDINGS):
        return w
    if w.endswith("es"):
        stem = w[:-2]
        if stem in _S_SINGULARS:
            return stem
        if w.endswith("ies"):
            return w[:-1] if w[:-1] in _IE_SINGULARS else w[:-3] + "y"
        if w.endswith("oes"):
            return w[:-1] if w[:-1] in _OE_SINGULARS else stem
        if w.endswith(("sses", "shes", "ches", "xes", "zzes")):
            return stem
        return w[:-1]  # horses -> horse, waves -> wave, bikes -> bike
    return w[:-1]  # drums -> drum, footsteps -> footstep, keys -> key
