"""Progress for long solves: a rich bar between compiled segments (never inside jit/vmap)."""

from __future__ import annotations

import time
from typing import Any


class Reporter:
    """A rich progress bar that appears only once a run has taken more than a second."""

    def __init__(self, progress: Any, total: int):
        self.callback = progress if callable(progress) else None
        self.enabled = bool(progress) and not callable(progress)
        self.total = total
        self.t0 = time.perf_counter()
        self.bar: Any = None
        self.task: Any = None

    def update(self, done: int) -> None:
        if self.callback is not None:
            self.callback(done / self.total)
        if not self.enabled or done >= self.total:
            return
        if self.bar is None and time.perf_counter() - self.t0 > 1.0:
            from rich.progress import BarColumn, Progress, TimeRemainingColumn

            self.bar = Progress(
                "[progress.description]{task.description}",
                BarColumn(),
                "{task.percentage:>3.0f}%",
                TimeRemainingColumn(),
                transient=True,
            )
            self.bar.start()
            self.task = self.bar.add_task("integrating", total=self.total)
        if self.bar is not None:
            self.bar.update(self.task, completed=done)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()
