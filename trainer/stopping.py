"""Ctrl-C as a request to stop a training run, not a crash.

The first SIGINT only asks: the loop drops the epoch under way and the run ends as if its last whole
epoch were its last, so a bundle is still written (the best epoch so far where the best is kept) and
`--resume` continues the same schedule later. A second SIGINT stops at once, as before.
"""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from types import FrameType

import torch

from trainer.checkpoint import load_checkpoint_weights


class StopRequest:
    """A context manager whose `asked` turns True on the first SIGINT received inside it (main thread
    only: elsewhere, and under torchrun, Ctrl-C keeps its usual meaning)."""

    def __init__(self, enabled: bool = True) -> None:
        self.asked = False
        self.enabled = enabled and threading.current_thread() is threading.main_thread()
        self._previous = None

    def __enter__(self) -> StopRequest:
        if self.enabled:
            self._previous = signal.signal(signal.SIGINT, self._ask)
        return self

    def __exit__(self, *exc) -> None:
        if self.enabled:
            signal.signal(signal.SIGINT, self._previous)

    def _ask(self, signum: int, frame: FrameType | None) -> None:
        if self.asked:
            raise KeyboardInterrupt
        self.asked = True


def stopped_after(
    stop: StopRequest,
    history: list[dict],
    epochs: int,
    run_dir: Path,
    model: torch.nn.Module,
    average: torch.nn.Module | None = None,
) -> int | None:
    """The whole epochs of a run Ctrl-C stopped early, its model (and weight average) put back as its
    last checkpoint holds them; None when every epoch ran. ValueError when no epoch ended."""
    if not stop.asked or len(history) >= epochs:
        return None
    if not history:
        raise ValueError("stopped before the first epoch ended: nothing to write")
    load_checkpoint_weights(run_dir, model, average)
    return len(history)
