"""The cyclic garbage collector in a server process: what is loaded and kept stays out of its scans.

A served index holds hundreds of thousands of Python objects (the catalogue's metadata, the query
caches' entries), and CPython's full collection walks every one of them: on the 100,000-sound
catalogue of bench.serve each took 40–210 ms, about every second under load, holding the GIL, so
every connection of that process waited (/search p99 at 32 connections 156 ms against a p50 of 38).
Objects that survive a collection are therefore frozen (`gc.freeze`: moved where no collection looks;
reference counting still frees them), right after an index loads and then every few seconds for what
the caches gained. A frozen object that later becomes part of a garbage cycle stays until everything is
thawed and collected once: after each swap (which frees the old version) and every `THAW_S`.
While an index loads no collection runs at all: building the metadata triggered a dozen full
collections of the growing heap, 1 s of a worker's start.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Iterator
from contextlib import contextmanager

THAW_S = 600.0  # at most this long between full collections of everything (one pause of ~0.1 s)


class Collector:
    def __init__(self) -> None:
        self._thawed_at = time.monotonic()

    def settle(self, everything: bool = False) -> None:
        """Collect the objects made since the last freeze (`everything`: all of them, thawed first, as
        after an index swap), then freeze the survivors."""
        if everything or time.monotonic() - self._thawed_at > THAW_S:
            gc.unfreeze()
            self._thawed_at = time.monotonic()
        gc.collect()
        gc.freeze()

    def release(self) -> None:
        """Thaw everything (the app stops): later collections see all of it again."""
        gc.unfreeze()

    @contextmanager
    def paused(self) -> Iterator[None]:
        """No automatic collection inside (an index loading); reference counting still frees."""
        gc.disable()
        try:
            yield
        finally:
            gc.enable()
