"""A progress bar for field runs: simulated time, steps per second, the free energy.

Drawn by rich between compiled segments (never inside jit); it appears only once a run has
taken more than a second, and a callable may stand in for it (tests, notebooks).
"""

from __future__ import annotations

import time
from typing import Any


class FieldProgress:
    """``update(t, steps, F)`` after each segment; ``close()`` at the end."""

    def __init__(self, progress: Any, t1: float, *, t0: float = 0.0, steps0: int = 0):
        self.callback = progress if callable(progress) else None
        self.enabled = bool(progress) and self.callback is None
        self.t1 = float(t1)
        self.start = time.perf_counter()
        self.steps0 = int(steps0)
        self.t0 = float(t0)
        self.bar: Any = None
        self.task: Any = None

    def update(self, t: float, steps: int, F: float) -> None:
        wall = time.perf_counter() - self.start
        rate = (steps - self.steps0) / wall if wall > 0 else 0.0
        if self.callback is not None:
            self.callback({"t": t, "t1": self.t1, "steps": steps, "steps_per_s": rate, "F": F})
            return
        if not self.enabled:
            return
        if self.bar is None and wall > 1.0:
            from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

            self.bar = Progress(
                TextColumn("[bold]t[/] {task.fields[t]:>10.4g} / {task.fields[t1]:g}"),
                BarColumn(),
                TextColumn("{task.percentage:>3.0f}%"),
                TextColumn("{task.fields[rate]:>8.0f} steps/s"),
                TextColumn("F = {task.fields[F]:.7g}"),
                TimeRemainingColumn(),
                transient=True,
            )
            self.bar.start()
            self.task = self.bar.add_task(
                "field", total=self.t1, t=t, t1=self.t1, rate=rate, F=F, completed=self.t0
            )
        if self.bar is not None:
            self.bar.update(self.task, completed=t, t=t, rate=rate, F=F)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()
            self.bar = None
