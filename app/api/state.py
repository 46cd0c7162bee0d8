"""What the service serves: the published index with its bundle, swapped when a new one is published.

`ServiceState.refresh` compares `indices/current` with the loaded version and, when it changed,
loads the new version next to the old one and swaps one reference: requests in flight keep the
object they started with, so none fails during the swap.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from app.settings import Settings
from index import versions
from index.catalogue.db import Catalogue
from index.indexer import IndexMismatchError
from index.jobs import JobStore
from index.search import SearchIndex
from model.bundle import Bundle, BundleError

log = logging.getLogger("audiotag.api")


class NotReady(RuntimeError):
    """No index is published yet, or it cannot be loaded; the message says why."""


class ServiceState:
    def __init__(self, settings: Settings, catalogue: Catalogue) -> None:
        self.settings = settings
        self.catalogue = catalogue
        self.jobs = JobStore(catalogue)
        self._index: SearchIndex | None = None
        self._bundles: dict[str, Bundle] = {}
        self._lock = threading.Lock()
        self.problem = "not loaded yet"  # why no index is served, or why the newest one is not
        self.failed_version: str | None = None  # the published version that failed to load last

    def on_swap(self, index: SearchIndex) -> None:
        """Called with each newly served index (metrics)."""

    def on_refresh_failure(self) -> None:
        """Called each time a published version fails to load (metrics)."""

    @property
    def index(self) -> SearchIndex:
        index = self._index
        if index is None:
            raise NotReady(self.problem)
        return index

    def refresh(self) -> bool:
        """Load the published version if it is not the one served; True when it swapped."""
        root: Path = self.settings.indices_dir
        with self._lock:
            current = versions.current_version(root)
            if current is None:
                self.problem = "no index is published: run `audiotag index build`"
                return False
            if self._index is not None and self._index.version == current:
                return False
            if current == self.failed_version:
                return False  # tried and failed: wait for another publish, not a retry every tick
            try:
                folder = root / current
                bundle_path = versions.bundle_dir(folder, self.settings.bundles_dir)
                bundle_version = bundle_path.name
                bundle = self._bundles.get(bundle_version) or Bundle(bundle_path, self.settings.device)
                index = SearchIndex(
                    folder, bundle, self.catalogue, self.settings.index_nprobe, self.settings.index_ef_search
                )
            except Exception as err:  # a broken publish must never stop the service: it keeps the old one
                self.problem = f"cannot load index {current}: {err}"
                self.failed_version = current
                known = (OSError, KeyError, ValueError, BundleError, IndexMismatchError, RuntimeError)
                log.error(self.problem, exc_info=not isinstance(err, known))
                self.on_refresh_failure()
                return False
            self._bundles = {bundle_version: bundle}
            self._index = index
            self.problem = ""
            self.failed_version = None
            self.on_swap(index)
            log.info("serving index %s (model %s, %d sounds)", current, bundle_version, index.size)
            return True
