"""The catalogue: migrations applied on open, any SQLAlchemy URL, constraints enforced."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import inspect, select
from sqlalchemy.exc import IntegrityError

from index.catalogue.db import Catalogue
from index.catalogue.models import Job, Sound, Source, Tag

# Set AUDIOTAG_TEST_POSTGRES_URL to run these against PostgreSQL too.
URLS = ["sqlite"] + (["postgres"] if os.environ.get("AUDIOTAG_TEST_POSTGRES_URL") else [])


@pytest.fixture(params=URLS)
def catalogue(request, tmp_path: Path):
    if request.param == "sqlite":
        cat = Catalogue(f"sqlite:///{tmp_path / 'sub' / 'catalogue.db'}")
    else:
        cat = Catalogue(os.environ["AUDIOTAG_TEST_POSTGRES_URL"])
    yield cat
    if request.param == "postgres":
        from index.catalogue.models import Base

        Base.metadata.drop_all(cat.engine)
        with cat.engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
    cat.close()


def _sound(uid: str, source: Source, **kw) -> Sound:
    base = dict(
        name=uid,
        duration=1.0,
        sample_rate=22050,
        channels=1,
        file_path=f"/x/{uid}.wav",
        file_format="wav",
        file_bytes=10,
        content_hash=uid.ljust(64, "0"),
    )
    return Sound(uid=uid, source=source, **{**base, **kw})


def test_migrations_create_every_table(catalogue: Catalogue) -> None:
    tables = set(inspect(catalogue.engine).get_table_names())
    assert {"sounds", "tags", "sound_tags", "sources", "jobs", "rejections", "alembic_version"} <= tables


def test_reopening_is_a_no_op(catalogue: Catalogue) -> None:
    with catalogue.session() as s:
        s.add(_sound("a:1", Source(name="a")))
        s.commit()
    again = Catalogue(catalogue.url)
    with again.session() as s:
        assert s.scalar(select(Sound.uid)) == "a:1"
    again.close()


def test_sound_tags_and_unique_uid(catalogue: Catalogue) -> None:
    with catalogue.session() as s:
        src = Source(name="a")
        s.add(_sound("a:1", src, tags=[Tag(name="dog"), Tag(name="bark")]))
        s.commit()
        assert s.scalar(select(Sound)).tag_names == ["bark", "dog"]
        s.add(_sound("a:1", src))
        with pytest.raises(IntegrityError):
            s.commit()


def test_jobs_table_holds_parameters(catalogue: Catalogue) -> None:
    with catalogue.session() as s:
        s.add(Job(kind="reindex", params={"factory": "Flat"}))
        s.commit()
        job = s.scalar(select(Job))
        assert (job.state, job.params, job.progress) == ("queued", {"factory": "Flat"}, 0.0)
