"""Objects every command needs, built once from the settings.

Each is imported where it is first built, so a command that needs none of the model's parts (`--help`,
`stats`, `jobs list`) never imports torch, FAISS or gensim.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from app.settings import Settings
from model.limits import AudioLimits

if TYPE_CHECKING:
    from concurrent.futures import Executor

    from index.catalogue.db import Catalogue
    from index.indexer import Corpus, IndexOptions
    from index.jobs import JobStore
    from index.reindex import ReindexOptions
    from index.search import SearchIndex
    from model.bundle import Bundle
    from model.cache import FeatureCache


@dataclass
class Runtime:
    settings: Settings

    @cached_property
    def catalogue(self) -> Catalogue:
        from index.catalogue.db import Catalogue

        return Catalogue(self.settings.catalogue_url)

    @cached_property
    def feature_cache(self) -> FeatureCache:
        from model.cache import FeatureCache
        from model.features import FeatureConfig

        return FeatureCache(self.settings.cache_dir / "features", FeatureConfig())

    @property
    def corpus(self) -> Corpus:
        from index.indexer import Corpus

        return Corpus(self.catalogue, self.feature_cache, self.limits, self.settings.workers)

    @property
    def index_options(self) -> IndexOptions:
        from index.indexer import IndexOptions

        s = self.settings
        return IndexOptions(
            s.index_factory, s.index_shard_size, s.index_nprobe, s.index_ef_search, s.ray_address
        )

    @property
    def reindex_options(self) -> ReindexOptions:
        from index.reindex import ReindexOptions

        s = self.settings
        return ReindexOptions(s.bundles_dir, s.indices_dir, self.index_options, s.device)

    def search_index(
        self, folder: Path, loaded: dict[Path, Bundle] | None = None, on: Executor | None = None
    ) -> SearchIndex:
        """An index version with the bundle it was built with (taken from `loaded`, by path, when
        it is there; else loaded on the executor `on`, where given: a server loads its model on its
        inference thread, app/api/engine.py)."""
        from index import versions
        from index.search import SearchIndex
        from model.bundle import Bundle

        s = self.settings
        path = versions.bundle_dir(folder, s.bundles_dir)
        bundle = (loaded or {}).get(path)
        if bundle is None:
            bundle = on.submit(Bundle, path, s.device).result() if on else Bundle(path, s.device)
        return SearchIndex(folder, bundle, self.catalogue, s.index_nprobe, s.index_ef_search)

    @cached_property
    def jobs(self) -> JobStore:
        from index.jobs import JobStore

        return JobStore(self.catalogue)

    @property
    def upload_limits(self) -> AudioLimits:
        """The input limits, with the upload caps."""
        s = self.settings
        return replace(
            self.limits,
            max_file_bytes=min(s.max_file_bytes, s.upload_max_bytes),
            max_duration_s=min(s.max_duration_s, s.upload_max_duration_s),
        )

    @property
    def limits(self) -> AudioLimits:
        """The input limits: the settings of the same names as AudioLimits' fields."""
        return AudioLimits(**{f.name: getattr(self.settings, f.name) for f in fields(AudioLimits)})
