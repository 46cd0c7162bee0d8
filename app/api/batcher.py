"""Micro-batching on the inference thread: concurrent requests share one pass of the work.

A request puts its item (a clip's log-mel, a search) on a queue with the object that answers it (the
bundle, the index) and awaits a future; one task takes every item waiting (up to `max_batch`),
waits up to `max_wait_s` for more (default 0: an item never waits for company, and the items that
arrive while the work runs share the next pass), and hands them, grouped by that object, to
`compute` in the engine's inference thread (app/api/engine.py; the event loop never computes). One
thread, always the same: torch's OpenMP team belongs to the thread that calls it, so a model run
from the service's pool threads in turn grew a spinning team per thread (a 10 s clip's /tags took
2.1× its decode + log-mel + encoder alone; a 5 ms wait for company was the rest). A batch pays one
hop between threads, and one encoder call for its clips or its searches' words; on a GPU batching
turns many small calls into one big one.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Generic, TypeVar

Owner = TypeVar("Owner")  # what answers a group: a bundle, a search index
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
        self.queue: asyncio.Queue[tuple[Owner, Item, asyncio.Future]] = asyncio.Queue()
        self.task: asyncio.Task | None = None

    def start(self) -> None:
        self.task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self.task:
            self.task.cancel()

    async def submit(self, owner: Owner, item: Item) -> Result:
        """`item`'s result, computed by `owner` in a batch with the others waiting."""
        future = asyncio.get_running_loop().create_future()
        await self.queue.put((owner, item, future))
        return await future

    async def _run(self) -> None:
        while True:
            waiting = [await self.queue.get()]
            deadline = time.monotonic() + self.max_wait_s
            while len(waiting) < self.max_batch:
                try:
                    waiting.append(self.queue.get_nowait())  # every item already waiting
                    continue
                except asyncio.QueueEmpty:
                    pass
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                try:
                    waiting.append(await asyncio.wait_for(self.queue.get(), left))
                except TimeoutError:
                    break
            for owner in {id(o): o for o, _, _ in waiting}.values():  # one pass per owner
                await self._compute(owner, [(item, f) for o, item, f in waiting if o is owner])

    async def _compute(self, owner: Owner, group: list[tuple[Item, asyncio.Future]]) -> None:
        if self.on_batch:
            self.on_batch(len(group))
        try:
            results = await asyncio.get_running_loop().run_in_executor(
                self.inference, self.compute, owner, [item for item, _ in group]
            )
        except Exception as err:  # every waiting request gets the error, none hangs
            results = [err] * len(group)
        for result, (_, future) in zip(results, group, strict=True):
            if future.done():
                continue
            if isinstance(result, Exception):
                future.set_exception(result)
            else:
                future.set_result(result)
