"""The server's garbage-collection policy: loaded objects frozen out of scans, cycles still freed."""

from __future__ import annotations

import gc
import weakref

from app.api.collector import Collector


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


def _cycle() -> weakref.ref:
    """A garbage cycle nothing refers to, seen through a weak reference."""
    a, b = Node(), Node()
    a.other, b.other = b, a
    return weakref.ref(a)


def test_settle_freezes_survivors_and_frees_cycles_made_since():
    collector = Collector()
    try:
        kept = [Node() for _ in range(100)]
        collector.settle()
        assert gc.get_freeze_count() >= len(kept)  # out of every later collection
        since = _cycle()
        collector.settle()
        assert since() is None  # made after the freeze: collected
    finally:
        collector.release()


def test_a_cycle_frozen_while_alive_is_freed_by_a_full_settle():
    collector = Collector()
    try:
        a, b = Node(), Node()
        a.other, b.other = b, a
        ref = weakref.ref(a)
        collector.settle()  # the cycle is alive here: frozen with it
        del a, b
        collector.settle()
        assert ref() is not None  # frozen garbage waits
        collector.settle(everything=True)  # as after a swap
        assert ref() is None
    finally:
        collector.release()


def test_release_thaws_everything():
    collector = Collector()
    collector.settle()
    collector.release()
    assert gc.get_freeze_count() == 0


def test_no_collection_while_paused():
    collector = Collector()
    with collector.paused():
        assert not gc.isenabled()
    assert gc.isenabled()
