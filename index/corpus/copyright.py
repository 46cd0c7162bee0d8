"""Licences and credits from a Debian `copyright` file (machine-readable DEP-5, or free text)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from fnmatch import fnmatchcase


@dataclass
class Stanza:
    files: list[str]
    license: str
    copyright: str = ""
    source: str = ""
    comment: str = ""


@dataclass
class CopyrightFile:
    stanzas: list[Stanza] = field(default_factory=list)
    fallback: str = "see debian/copyright"

    def lookup(self, path: str) -> Stanza | None:
        """The stanza covering an installed path: longest matching pattern suffix; later wins ties."""
        best, best_score = None, -1
        for st in self.stanzas:
            for pattern in st.files:
                score = _match_score(pattern, path)
                if score >= best_score and score >= 0:
                    best, best_score = st, score
        return best

    def license_for(self, path: str) -> str:
        st = self.lookup(path)
        return st.license if st else self.fallback


def _match_score(pattern: str, path: str) -> int:
    """-1 for no match; else how many path components the pattern pinned down.

    Source-tree patterns (`mods/doors/sounds/*`) are matched against the end of installed paths,
    since packages install files under another prefix.
    """
    if pattern == "*":
        return 0
    parts = pattern.strip("/").split("/")
    for k in range(len(parts)):
        suffix = parts[k:]
        if suffix == ["*"]:
            break
        if fnmatchcase(path, "*/" + "/".join(suffix)) or fnmatchcase(path, "/".join(suffix)):
            return len(suffix) * 2 - (1 if "*" in suffix[-1] else 0)
    return -1


_KNOWN = re.compile(
    r"\b(CC0|CC-BY(?:-SA)?(?:-\d\.\d)?|GPL-\d\+?|LGPL-[\d.]+\+?|public domain|MIT|BSD[-\w]*|Expat)\b", re.I
)


def parse_copyright(text: str) -> CopyrightFile:
    stanzas = []
    for block in re.split(r"\n\s*\n", text):
        fields = _fields(block)
        if "files" in fields and "license" in fields:
            stanzas.append(
                Stanza(
                    files=fields["files"].split(),
                    license=next(iter(fields["license"].strip().splitlines()), "").strip() or "unknown",
                    copyright=fields.get("copyright", "").strip(),
                    source=fields.get("source", "").strip(),
                    comment=fields.get("comment", "").strip(),
                )
            )
    cf = CopyrightFile(stanzas=stanzas)
    if not stanzas:
        found = sorted({m.group(1) for m in _KNOWN.finditer(text)})
        cf.fallback = " or ".join(found) if found else "see debian/copyright"
    return cf


def _fields(block: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    key = None
    for line in block.splitlines():
        if line[:1] in (" ", "\t") and key:
            fields[key] += "\n" + line.strip()
        elif ":" in line:
            key, _, value = line.partition(":")
            key = key.strip().lower()
            fields[key] = value.strip()
    return fields


_FREESOUND = re.compile(r"freesound\.org/people/([^/\s]+)/sounds/(\d+)")


def freesound_origin(stanza: Stanza | None) -> tuple[str, str] | None:
    """(username, sound id) when a stanza credits a Freesound sound."""
    if stanza is None:
        return None
    m = _FREESOUND.search(" ".join((stanza.source, stanza.comment, stanza.copyright)))
    return (m.group(1).replace("%20", " "), m.group(2)) if m else None
