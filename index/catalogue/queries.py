"""Catalogue reads shared by the search API and the service."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from index.catalogue.db import Catalogue
from index.catalogue.models import Sound


def sounds_with_tags(catalogue: Catalogue, ids: list[int]) -> dict[int, Sound]:
    """The sounds with these ids (deleted ones too), tags loaded, detached from their session."""
    if not ids:
        return {}
    with catalogue.session() as s:
        rows = s.scalars(select(Sound).where(Sound.id.in_(ids)).options(selectinload(Sound.tags))).all()
        for row in rows:
            s.expunge(row)
        return {row.id: row for row in rows}
