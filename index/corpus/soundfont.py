"""Notes rendered from a General-MIDI SoundFont with tinysoundfont, and the GM names that tag them.

Rendering needs PyPI's `tinysoundfont`, installed with `pip install --no-deps tinysoundfont` (its
playback dependency, pyaudio, does not build without PortAudio headers and is never used).
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import numpy as np

from index.corpus.debian import CorpusError, iter_deb_files

SILENT_RMS = 0.003  # quieter notes are out of the instrument's range

# The 128 General MIDI program names, in program order.
GM_PROGRAMS = [
    n.strip()
    for n in """acoustic grand piano, bright acoustic piano, electric grand piano, honky-tonk piano,
    electric piano, electric piano, harpsichord, clavinet, celesta, glockenspiel, music box,
    vibraphone, marimba, xylophone, tubular bells, dulcimer, drawbar organ, percussive organ,
    rock organ, church organ, reed organ, accordion, harmonica, tango accordion,
    acoustic nylon guitar, acoustic steel guitar, electric jazz guitar, electric clean guitar,
    electric muted guitar, overdriven guitar, distortion guitar, guitar harmonics, acoustic bass,
    electric finger bass, electric pick bass, fretless bass, slap bass, slap bass, synth bass,
    synth bass, violin, viola, cello, contrabass, tremolo strings, pizzicato strings,
    orchestral harp, timpani, string ensemble, string ensemble, synth strings, synth strings,
    choir aahs, voice oohs, synth voice, orchestra hit, trumpet, trombone, tuba, muted trumpet,
    french horn, brass section, synth brass, synth brass, soprano sax, alto sax, tenor sax,
    baritone sax, oboe, english horn, bassoon, clarinet, piccolo, flute, recorder, pan flute,
    blown bottle, shakuhachi, whistle, ocarina, square synth lead, sawtooth synth lead,
    calliope synth lead, chiff synth lead, charang synth lead, voice synth lead, fifths synth lead,
    bass synth lead, new age synth pad, warm synth pad, polysynth pad, choir synth pad,
    bowed synth pad, metallic synth pad, halo synth pad, sweep synth pad, rain synth effect,
    soundtrack synth effect, crystal synth effect, atmosphere synth effect, brightness synth effect,
    goblins synth effect, echoes synth effect, sci-fi synth effect, sitar, banjo, shamisen, koto,
    kalimba, bagpipe, fiddle, shanai, tinkle bell, agogo, steel drums, woodblock, taiko drum,
    melodic tom, synth drum, reverse cymbal, guitar fret noise, breath noise, seashore, bird tweet,
    telephone ring, helicopter, applause, gunshot""".split(",")
]
assert len(GM_PROGRAMS) == 128

# GM programs → NSynth's instrument families (the instruments task's classes).
GM_FAMILIES: dict[str, list[int]] = {
    "keyboard": list(range(0, 8)),
    "mallet": [*range(8, 16), 108],
    "organ": list(range(16, 21)),
    "reed": [*range(64, 72), 109, 111, 21, 22, 23],
    "guitar": [*range(24, 32), 104, 105, 106],
    "bass": list(range(32, 40)),
    "string": [*range(40, 47), *range(48, 52), 107, 110],
    "vocal": [52, 53, 54],
    "brass": list(range(56, 64)),
    "flute": list(range(72, 80)),
}
FAMILY_OF = {p: f for f, programs in GM_FAMILIES.items() for p in programs}

# GM percussion keys (bank 128) → tags people would use for the hit.
GM_DRUMS: dict[int, str] = {
    35: "kick bass drum", 36: "kick bass drum", 37: "snare rimshot stick", 38: "snare drum",
    39: "clap hand", 40: "snare drum electric", 41: "tom floor low", 42: "hihat closed cymbal",
    43: "tom floor", 44: "hihat pedal cymbal", 45: "tom low", 46: "hihat open cymbal",
    47: "tom mid", 48: "tom high", 49: "crash cymbal", 50: "tom high", 51: "ride cymbal",
    52: "china cymbal", 53: "ride bell cymbal", 54: "tambourine", 55: "splash cymbal",
    56: "cowbell bell", 57: "crash cymbal", 58: "vibraslap", 59: "ride cymbal", 60: "bongo high",
    61: "bongo low", 62: "conga high muted", 63: "conga high", 64: "conga low", 65: "timbale high",
    66: "timbale low", 67: "agogo high", 68: "agogo low", 69: "cabasa shaker", 70: "maracas shaker",
    71: "whistle short", 72: "whistle long", 73: "guiro short", 74: "guiro long", 75: "claves wood",
    76: "woodblock high", 77: "woodblock low", 78: "cuica", 79: "cuica", 80: "triangle muted",
    81: "triangle",
}  # fmt: skip
# Drum kits (bank 128 presets) of a GM SoundFont and a word for each.
GM_KITS = {0: "standard", 8: "room", 16: "rock", 24: "electronic", 25: "electronic", 32: "jazz", 40: "brush"}


class RendererMissing(CorpusError):
    def __init__(self) -> None:
        super().__init__("rendering notes needs tinysoundfont: pip install --no-deps tinysoundfont")


def _synth(sample_rate: int):
    try:
        import tinysoundfont
    except ImportError:
        raise RendererMissing() from None
    return tinysoundfont.Synth(samplerate=sample_rate)


def check_renderer() -> None:
    """Fail before any download when the renderer is missing."""
    _synth(16000)


class NoteRenderer:
    """One SoundFont loaded into a synthesiser; renders single notes as mono float32."""

    def __init__(self, soundfont: bytes, sample_rate: int) -> None:
        self.sample_rate = sample_rate
        self.synth = _synth(sample_rate)
        self.font = self.synth.sfload(soundfont)

    def has_program(self, program: int, bank: int = 0) -> bool:
        """Whether the font has this preset (program_select silently falls back to another one)."""
        try:
            return self.synth.sfpreset_name(self.font, bank, program) is not None
        except RuntimeError:  # out of range
            return False

    def _select(self, program: int, bank: int) -> None:
        drums = bank == 128  # MIDI drum mode selects bank 128 itself
        self.synth.program_select(0, self.font, 0 if drums else bank, program, is_drums=drums)

    def render(
        self, program: int, pitch: int, velocity: int, hold_s: float, release_s: float, bank: int = 0
    ) -> np.ndarray:
        """(hold_s + release_s) · sample_rate samples, mono."""
        s, sr = self.synth, self.sample_rate
        self._select(program, bank)
        s.noteon(0, pitch, velocity)
        held = np.frombuffer(s.generate(int(hold_s * sr)), np.float32)
        s.noteoff(0, pitch)
        tail = np.frombuffer(s.generate(int(release_s * sr)), np.float32)
        s.sounds_off()
        return np.concatenate([held, tail]).reshape(-1, 2).mean(axis=1)  # stereo → mono


def audible(wave: np.ndarray) -> bool:
    return float(np.sqrt(np.mean(wave**2))) >= SILENT_RMS


def read_soundfont(deb: Path, name: str | None = None) -> bytes:
    """The package's first SoundFont (.sf2, or .sf3 with Vorbis samples), or the one called `name`."""
    for path, tar, member in iter_deb_files(deb):
        p = PurePosixPath(path)
        if p.suffix.lower() in (".sf2", ".sf3") and name in (None, p.name):
            return tar.extractfile(member).read()
    raise CorpusError(f"no SoundFont {name or ''} in {deb.name}".replace("  ", " "))
