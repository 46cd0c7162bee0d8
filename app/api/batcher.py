"""Micro-batching of audio inference: concurrent requests share one forward pass.

A request puts its clip's log-mel on a queue and awaits a future; one task takes every clip waiting
(up to `max_batch`), waits up to `max_wait_s` for more (default 0: a clip never waits for company, and
the clips that arrive while the model runs share the next pass), and runs the encoder on them all in
the engine's inference thread (app/api/engine.py; the event loop never computes). One thread, always
the same: torch's OpenMP team belongs to the thread that calls it, so a model run from the service's
pool threads in turn grew a spinning team per thread (a 10 s clip's /tags took 2.1× its decode +
log-mel + encoder alone; a 5 ms wait for company was the rest). On a GPU batching turns many small
calls into one big one.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from model.bundle import Bundle

Embedding = tuple[np.ndarray, np.ndarray]  # z_a (V,), φ_a (F,), L2-normalised


class Batcher:
    def __init__(
        self,
        inference: ThreadPoolExecutor,
        max_batch: int = 32,
        max_wait_s: float = 0.0,
        on_batch: Callable[[int], None] | None = None,
    ) -> None:
        self.inference = inference  # one thread: the engine's, which owns it
        self.max_batch, self.max_wait_s, self.on_batch = max_batch, max_wait_s, on_batch
        self.queue: asyncio.Queue[tuple[Bundle, np.ndarray, asyncio.Future]] = asyncio.Queue()
        self.task: asyncio.Task | None = None

    def start(self) -> None:
        self.task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self.task:
            self.task.cancel()

    async def embed(self, bundle: Bundle, logmel: np.ndarray) -> Embedding:
        """One clip's (n_mels, T) log-mel → its embedding, computed in a batch with others."""
        future = asyncio.get_running_loop().create_future()
        await self.queue.put((bundle, logmel, future))
        return await future

    async def _run(self) -> None:
        while True:
            items = [await self.queue.get()]
            deadline = time.monotonic() + self.max_wait_s
            while len(items) < self.max_batch:
                try:
                    items.append(self.queue.get_nowait())  # every clip already waiting
                    continue
                except asyncio.QueueEmpty:
                    pass
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                try:
                    items.append(await asyncio.wait_for(self.queue.get(), left))
                except TimeoutError:
                    break
            for bundle in {id(b): b for b, _, _ in items}.values():  # one pass per model
                group = [(m, f) for b, m, f in items if b is bundle]
                await self._compute(bundle, group)

    async def _compute(self, bundle: Bundle, group: list[tuple[np.ndarray, asyncio.Future]]) -> None:
        if self.on_batch:
            self.on_batch(len(group))
        try:
            logmels = [m for m, _ in group]
            z, phi = await asyncio.get_running_loop().run_in_executor(
                self.inference, bundle.embed_logmels, logmels
            )
        except Exception as err:  # every waiting request gets the error, none hangs
            for _, future in group:
                if not future.done():
                    future.set_exception(err)
            return
        for k, (_, future) in enumerate(group):
            if not future.done():
                future.set_result((z[k], phi[k]))
