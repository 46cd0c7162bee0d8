"""Which Debian packages make each built-in corpus (see docs/corpus.md for how they were chosen)."""

from __future__ import annotations

# Best clips per MB first. About 210 MB of downloads, about 1,200 clips after filtering.
DEMO = [
    "sound-theme-freedesktop",
    "oxygen-sounds",
    "gnome-audio",
    "minetest-data",
    "ufoai-sound",
    "triplea",
    "lmms-common",
    "sonic-pi-samples",
    "ardentryst",
    "scorched3d-data",
    "openarena-data",
    "lincity-ng-data",
]

# About 5.5 GB of downloads (one package on disk at a time), about 6,000 clips.
FULL = DEMO + [
    "deepin-sound-theme",
    "lomiri-sounds",
    "megaglest-data",
    "wesnoth-1.16-data",
    "btanks-data",
    "lugaru-data",
    "nexuiz-data",
    "endless-sky-data",
    "searchandrescue-data",
    "boswars-data",
    "warzone2100-data",
    "flare-game",
    "warmux-data",
    "widelands-data",
    "freedroidrpg-data",
    "supertux-data",
    "0ad-data",
    # GCompris keeps farm animals, instruments and everyday sounds in Qt resource files (GPL-3+).
    "gcompris-qt-data",
    # Thin categories (vehicles, animals, nature ambiences, household): Red Eclipse's ambiences
    # (wind, rain, rivers, crickets), SuperTuxKart's engines, farm animals and weather, Hedgewars'
    # effects outside its voices, Naev's.
    "redeclipse-data",
    "supertuxkart-data",
    "hedgewars-data",
    "naev-data",
    # Instrument notes and drum hits rendered from SoundFonts (index/corpus/notes.py).
    "fluid-soundfont-gm-notes",
    "musescore-general-soundfont-notes",
    "csound-soundfont-drums",
    "avldrums-red-zeppelin-drums",
    # Speech, capped and tagged only as speech: spoken words in 25 languages (index/corpus/speech.py).
    "ktuberling-speech",
]

PRESETS = {"demo": DEMO, "full": FULL}

# Proper nouns seen in these packages' paths (kit, author, faction and archive names): not sound tags.
NOISE_TOKENS = set(
    """
    belofilms forzee rumpf millo bja pacific gimme pearl sabian persian norsemen egypt indian celt
    celts gaul gauls iber iberians ptolemies seleucids mauryas romans carthaginians spartans
    athenians macedonians britons kushites magic tech indians norsemen tribe
    """.split()
) - {"magic", "tech"}
