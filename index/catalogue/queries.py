"""Catalogue reads shared by the search API and the service."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from index.catalogue.db import Catalogue
from index.catalogue.models import Sound
from model.tags import normalise_tags


def sounds_with_tags(catalogue: Catalogue, ids: list[int]) -> dict[int, Sound]:
    """The sounds with these ids (deleted ones too), tags loaded, detached from their session."""
    if not ids:
        return {}
    with catalogue.session() as s:
        rows = s.scalars(select(Sound).where(Sound.id.in_(ids)).options(selectinload(Sound.tags))).all()
        for row in rows:
            s.expunge(row)
        return {row.id: row for row in rows}


def catalogue_hashes(catalogue: Catalogue) -> frozenset[str]:
    """The content hashes of every sound in the catalogue (deleted ones too)."""
    with catalogue.session() as s:
        return frozenset(s.scalars(select(Sound.content_hash)))


def live_sounds_with_words(catalogue: Catalogue) -> list[tuple[str, str, list[str]]]:
    """(uid, content hash, normalised tag words) of every live sound, in catalogue order."""
    with catalogue.session() as s:
        sounds = s.scalars(
            select(Sound)
            .where(Sound.deleted_at.is_(None))
            .options(selectinload(Sound.tags))
            .order_by(Sound.id)
        ).all()
        return [(x.uid, x.content_hash, normalise_tags(x.tag_names)) for x in sounds]
