"""English sound words: which path words of a package may become tags of its sounds.

A file's path says what it is in game words (`actor/fauna/…`, `ortnok`, `sarge`, `taman`, `zip`),
and a model trained on those hands them back as suggested tags. A path word becomes a tag only when
it names a sound, its source, its material, an action or a quality: it is in this lexicon (after
singularising), or it is two or three lexicon words run together (`malehurt` → male, hurt;
`birdchirp` → bird, chirp). Everything else (proper nouns, factions, authors, codes) is dropped.
"""

from __future__ import annotations

from functools import cache

from model.singular import singularise

LEXICON: frozenset[str] = frozenset(
    """
    animal bird dog puppy cat kitten cow bull cattle calf horse pony donkey pig sheep lamb goat
    chicken hen rooster chick duck goose owl crow raven gull seagull eagle hawk parrot pigeon dove
    frog toad insect cricket bee wasp fly mosquito wolf fox lion tiger bear elephant monkey ape
    rabbit mouse rat bat snake whale dolphin seal fish creature monster dragon beast zombie ghost
    alien robot cricket cicada deer elk moose squirrel beaver camel yak buffalo boar spider worm
    bark woof howl growl snarl roar meow purr moo neigh whinny hiss chirp tweet caw quack cluck
    buzz squeak squeal grunt bleat croak hoot screech shriek gallop hoof paw wing flap peck
    note instrument piano keyboard guitar bass string violin viola cello contrabass fiddle harp
    flute piccolo recorder ocarina whistle oboe clarinet bassoon sax saxophone horn trumpet
    trombone tuba brass reed organ accordion harmonica bagpipe banjo mandolin ukulele sitar koto
    shamisen dulcimer harpsichord clavinet celesta glockenspiel vibraphone marimba xylophone
    kalimba mallet chime bell gong timpani drum snare kick tom hihat cymbal ride crash splash china
    clap cowbell conga bongo tabla taiko timbale agogo tambourine triangle shaker maraca guiro
    cuica clave woodblock rimshot vibraslap percussion synth synthesizer pad lead choir vocal
    voice chord strum pluck pizzicato tremolo loop beat rhythm melody arpeggio bowed nylon steel
    fret fretless acoustic electric electronic orchestra orchestral ensemble jazz rock techno
    piano sine square sawtooth bassdrum
    scream yell shout laugh giggle cry sob cough sneeze breath breathe breathing gasp grunt pain
    hurt death die dying groan moan sigh snore hiccup burp cheer applause clapping footstep step
    walk walking run running jump land fall eat chew drink swallow kiss whisper hum sing
    speech talk male female man woman child baby crowd people human body heart
    car engine motor truck tractor train tram subway plane airplane aircraft jet helicopter
    airship boat ship submarine tank vehicle bike bicycle motorcycle scooter bus taxi horn siren
    brake tire tyre wheel gear skid crash traffic rocket spaceship hover propeller
    door gate window glass plate cup bowl bottle jar can pot pan kettle water tap sink toilet
    shower bath clock watch alarm phone telephone typing typewriter switch drawer cupboard
    kitchen chair table bed knock key lock paper book page coin money cash register zipper
    bag box basket chest crate barrel bucket ball toy camera printer computer fan fridge
    vacuum microwave oven stove fire match lighter candle knife fork spoon scissors hammer saw
    drill axe shovel pick hoe anvil chain rope spring
    rain thunder lightning storm wind water river stream wave sea ocean lake waterfall fountain
    forest jungle cave field farm city street traffic market crowd ambience ambient atmosphere
    castle church house room hall dungeon office factory station harbour harbor beach desert space
    rock stone wood leaf grass dirt mud sand gravel snow ice lava steam smoke earth ground
    tree bush branch log fire flame ember spark bubble drip drop splash pour flow
    metal steel iron copper tin gold silver plastic rubber leather cloth fabric carpet concrete
    brick tile ceramic porcelain crystal cardboard foam
    weapon gun rifle pistol shotgun musket cannon laser shot shoot gunshot bullet reload
    explosion explode bomb grenade missile mine blast sword blade knife dagger spear arrow bow
    crossbow sling axe mace club hammer shield armor armour attack hit impact punch kick slap
    fight battle swing slash stab block parry whoosh swoosh whip
    beep click notification alert message button menu interface error dialog complete login
    logout ring ringtone buzzer blip ping ding chime signal tick tock alarm
    open close closed opening closing break breaking broken shatter crack crunch squeak creak
    rattle rustle scrape scratch rub roll slide bounce thud thump bump bang boom pop snap tap
    knock smash crush tear rip pour spill fill empty drop throw catch pull push lift place
    dig chop cut cutting saw sawing hammering drill build construction mining mine lumber
    harvest gather farming digging fishing cooking frying boiling sweep sweeping wash
    flying fly flyby landing takeoff idle start stop shutdown moving move spin rotate turn
    loud soft quiet low high medium deep bright dark heavy light hard short long small large big
    huge tiny fast slow distant close near far wet dry hollow metallic wooden muted distorted
    reverse echo reverb noise hum hiss static glitch drone buzz whine rumble
    magic spell teleport heal power energy charge
    """.split()
)


def in_lexicon(word: str) -> bool:
    """A lexicon word, also in the plural."""
    return word in LEXICON or singularise(word) in LEXICON


@cache
def split_compound(word: str, parts: int = 3) -> tuple[str, ...]:
    """`word` as up to `parts` lexicon words of 3 letters or more run together (longest first part
    first), or () when it is none."""
    for cut in range(len(word) - 3, 2, -1):
        head, rest = word[:cut], word[cut:]
        if not in_lexicon(head):
            continue
        if in_lexicon(rest):
            return (head, rest)
        if parts > 2 and (tail := split_compound(rest, parts - 1)):
            return (head, *tail)
    return ()


def sound_words(word: str) -> list[str]:
    """The tags a path word gives: itself when it is a lexicon word, its parts when it is a compound
    of them, else nothing."""
    if in_lexicon(word):
        return [word]
    return list(split_compound(word))
