"""Micro-batching on the inference thread: concurrent requests share one pass of the work.

A request adds its item (an upload's clip and question, a search) with the object that answers it
(the bundle, the index) and awaits a future. When the thread is free, the items waiting (up to
`max_batch`, of the first one's owner) go to `compute` on the engine's inference thread
(app/api/engine.py; the event loop never computes), at once, or after up to `max_wait_s` for
company (default 0: an item never waits, and the items that arrive while a pass runs share the
next one). When a pass ends its results go to their futures and the next pass starts from the same
callback: no task sits between a request and the thread, so a lone request pays one hop, as it
would without batching. One thread, always the same: torch's OpenMP team belongs to the thread
that calls it, so a model run from the service's pool threads in turn grew a spinning team per
thread (a 10 s clip's /tags took 2.1× its decode + log-mel + encoder alone; a 5 ms wait for
company was the rest). A pass pays one hop between threads, and one encoder call for its clips or
its searches' words; on a GPU batching turns many small calls into one big one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Generic, TypeVar

Owner = TypeVar("Owner")  # what answers a pass: a bundle, a search index
Item = TypeVar("Item")
Result = TypeVar("Result")

# (owner, its items) → one result or exception per item, in order; run on the inference thread
Compute = Callable[[Owner, list[Item]], list[Result | Exception]]


class Batcher(Generic[Owner, Item, Result]):
    def __init__(
        self,
        inference: ThreadPoolExecutor,
        compute: Compute,
        max_batch: int = 32,
        max_wait_s: float = 0.0,
        on_batch: Callable[[int], None] | None = None,
    ) -> None:
        self.inference = inference  # one thread: the engine's, which owns it
        self.compute = compute
        self.max_batch, self.max_wait_s, self.on_batch = max_batch, max_wait_s, on_batch
        self._waiting: list[tuple[Owner, Item, asyncio.Future]] = []
        self._running = False
        self._timer: asyncio.TimerHandle | None = None

    async def submit(self, owner: Owner, item: Item) -> Result:
        """`item`'s result, computed by `owner` in a pass with the others waiting."""
        future = asyncio.get_running_loop().create_future()
        self._waiting.append((owner, item, future))
        self._next()
        return await future

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _next(self) -> None:
        """Start a pass if the thread is free: now, when the batch is full or nobody waits for
        company, else once the first waiting item has waited `max_wait_s`."""
        if self._running or not self._waiting:
            return
        if self.max_wait_s > 0 and len(self._waiting) < self.max_batch:
            if self._timer is None:
                self._timer = asyncio.get_running_loop().call_later(self.max_wait_s, self._start)
            return
        self._start()

    def _start(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._running or not self._waiting:
            return
        owner = self._waiting[0][0]
        group, rest = [], []
        for waiting in self._waiting:  # the first owner's items, in order, up to max_batch
            (group if waiting[0] is owner and len(group) < self.max_batch else rest).append(waiting)
        self._waiting = rest
        if self.on_batch:
            self.on_batch(len(group))
        self._running = True
        loop = asyncio.get_running_loop()
        work = loop.run_in_executor(self.inference, self.compute, owner, [item for _, item, _ in group])
        work.add_done_callback(lambda done: self._finish(done, group))

    def _finish(self, work: asyncio.Future, group: list[tuple[Owner, Item, asyncio.Future]]) -> None:
        """Hand each waiting request its result (every one the error if the pass failed), then start
        the next pass."""
        self._running = False
        if work.cancelled():  # the engine stopped
            for _, _, future in group:
                future.cancel()
            return
        try:
            results = work.result()
        except Exception as err:  # every waiting request gets the error, none hangs
            results = [err] * len(group)
        for result, (_, _, future) in zip(results, group, strict=True):
            if future.done():  # the request went away
                continue
            if isinstance(result, Exception):
                future.set_exception(result)
            else:
                future.set_result(result)
        self._next()
