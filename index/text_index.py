"""The sounds' words as a full-text index: SQLite FTS5, one file in the index version folder.

Each indexed sound's name, tags and description go in through the one tokenizer queries use
(model/tags: `Dogs barking` → dog, barking), FTS5's Porter stemmer then matches the forms of a
word (`barking` finds `bark`), and FTS5 ranks a query's words by BM25 over the three columns (tags
weigh most, the description least). Why FTS5: it is a real full-text engine that ships
inside Python's own sqlite3 (no server, no new package), and as a file in the version folder it is
written, fsynced and published with the vectors, so one publish switches words and sounds together,
whatever database holds the catalogue (SQLite or PostgreSQL). The file is opened read-only and
immutable, so readers take no file lock; one connection serves a process's threads in turn.

FTS5's BM25 of a query of several words is the sum of each word's own BM25 (each word has its own
IDF, and a row's length does not depend on the query), so an index keeps each word's scores as FTS5
gave them (`WORD_CACHE` words, least recently used out) and a query of words it holds is summed in
Python: the same scores, the same order, without an SQL statement per word (a three-word search
of the 100k-sound benchmark catalogue spent about 0.2 ms in four statements). A word that matches
more than `WORD_CACHE_ROWS` sounds is not kept, and a query holding one is answered by SQL.
"""

from __future__ import annotations

import hashlib
import heapq
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

from index.catalogue.queries import SoundMeta
from model.tags import normalise_tag

FILE = "text.sqlite"
COLUMNS = ("name", "tags", "description")
WEIGHTS = (1.0, 2.0, 0.5)  # BM25 weight of a match in each column: tags are written to be searched
MAX_HITS = 200  # text matches read for one query, best first, before filters
WORD_CACHE = 4096  # words whose scores an open index keeps
WORD_CACHE_ROWS = 5000  # a word that matches more sounds is read by SQL each time


class TextHit(NamedTuple):  # a tuple, as `search.Hit`: a search makes up to MAX_HITS of them
    sound_id: int
    score: float  # BM25, higher is better
    words: tuple[str, ...]  # the query's words this sound's text holds, in query order


def query_words(text: str) -> list[str]:
    """A free-text query's words as the text index holds them, de-duplicated, in order."""
    return list(dict.fromkeys(normalise_tag(text)))


def sound_text(sound: SoundMeta) -> tuple[str, str, str]:
    """A sound's (name, tags, description) as space-separated normalised words."""
    name, description = normalise_tag(sound.name), normalise_tag(sound.description or "")
    return " ".join(name), " ".join(sound.tag_words), " ".join(description)  # tag words: read once


TextRow = tuple[int, str, str, str]  # sound id, name, tags, description as normalised words


def text_rows(sounds: Iterable[SoundMeta]) -> list[TextRow]:
    """What the text index holds of `sounds`, in id order: normalised once, then fingerprinted and
    written from the same rows."""
    return sorted((s.id, *sound_text(s)) for s in sounds)


def words_fingerprint(rows: list[TextRow]) -> str:
    """A hash of the rows a text index holds: it changes when a name, tag or description does (a tag
    people confirmed), so an index update knows to write the words again."""
    h = hashlib.sha1()
    for row in rows:
        h.update("\x1f".join(map(str, row)).encode() + b"\x1e")
    return h.hexdigest()[:16]


def write(folder: Path, rows: list[TextRow]) -> None:
    """Write the text index of these rows (`text_rows`) into a (staging) version folder."""
    path = Path(folder) / FILE
    path.unlink(missing_ok=True)
    db = sqlite3.connect(path)
    try:
        db.execute(f"CREATE VIRTUAL TABLE sounds USING fts5({', '.join(COLUMNS)}, tokenize='porter ascii')")
        db.executemany(
            "INSERT INTO sounds(rowid, name, tags, description) VALUES (?, ?, ?, ?)",
            rows,
        )
        db.execute("INSERT INTO sounds(sounds) VALUES ('optimize')")
        db.commit()
    finally:
        db.close()


_WEIGHTS = ", ".join(str(w) for w in WEIGHTS)


def _match(words: list[str]) -> str:
    """An FTS5 query for any of the words (letters only: quoting them is enough)."""
    return " OR ".join(f'"{w}"' for w in words)


class TextIndex:
    """One version's text index, read-only; a version built before text indices has none (empty)."""

    def __init__(self, folder: Path) -> None:
        path = Path(folder) / FILE
        self._lock = threading.Lock()
        self._db = None
        self._words: OrderedDict[str, dict[int, float]] = OrderedDict()  # word → sound id → BM25
        if path.is_file():
            uri = f"{path.resolve().as_uri()}?mode=ro&immutable=1"
            self._db = sqlite3.connect(uri, uri=True, check_same_thread=False)

    @property
    def available(self) -> bool:
        return self._db is not None

    def search(self, words: list[str], limit: int = MAX_HITS) -> list[TextHit]:
        """Sounds whose text holds any of `words` (normalised, see `query_words`) in some form, best
        first; ties (sounds with the same words) in id order."""
        if self._db is None or not words:
            return []
        with self._lock:
            scores = [self._word_scores(w) for w in words]
            if any(s is None for s in scores):
                return self._search_sql(words, limit)
        total: dict[int, float] = {}
        for word_scores in scores:  # in query order, the order FTS5 adds them in
            for i, s in word_scores.items():
                total[i] = total.get(i, 0.0) + s
        best = heapq.nsmallest(limit, total.items(), key=lambda item: (-item[1], item[0]))
        held = list(zip(words, scores, strict=True))
        return [TextHit(i, s, tuple(w for w, ws in held if i in ws)) for i, s in best]

    def _word_scores(self, word: str) -> dict[int, float] | None:
        """Each sound's BM25 for the word alone, kept; None for a word too common to keep."""
        if (kept := self._words.get(word)) is not None:
            self._words.move_to_end(word)
            return kept
        rows = self._db.execute(
            f"SELECT rowid, -bm25(sounds, {_WEIGHTS}) FROM sounds WHERE sounds MATCH ? LIMIT ?",
            (_match([word]), WORD_CACHE_ROWS + 1),
        ).fetchall()
        if len(rows) > WORD_CACHE_ROWS:
            return None
        self._words[word] = kept = dict(rows)
        if len(self._words) > WORD_CACHE:
            self._words.popitem(last=False)
        return kept

    def _search_sql(self, words: list[str], limit: int) -> list[TextHit]:
        """`search` by FTS5 alone, for a query with a word too common to keep (under the lock)."""
        ranked = (
            f"SELECT rowid, -bm25(sounds, {_WEIGHTS}) AS s FROM sounds WHERE sounds MATCH ? "
            "ORDER BY s DESC, rowid LIMIT ?"
        )
        rows = self._db.execute(ranked, (_match(words), limit)).fetchall()
        # each word's sounds, for what each hit matched (in the forms the stemmer matched)
        holding = {w: self._holding(w) for w in words} if len(words) > 1 else {words[0]: {r[0] for r in rows}}
        return [
            TextHit(int(i), float(score), tuple(w for w in words if i in holding[w])) for i, score in rows
        ]

    def _holding(self, word: str) -> set[int]:
        """Ids of the sounds whose text holds the word in some form."""
        return {
            r[0] for r in self._db.execute("SELECT rowid FROM sounds WHERE sounds MATCH ?", (_match([word]),))
        }

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
