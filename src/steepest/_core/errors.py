"""The exception hierarchy of steepest.

Every error a user can cause or meet is a :class:`SteepestError`; its message is one or two
sentences that say what was wrong and what to do about it.
"""

from __future__ import annotations

from typing import Any


class SteepestError(Exception):
    """Root of every error raised on purpose by steepest."""


class ScenarioError(SteepestError, ValueError):
    """Bad input: a scenario key, an argument, an expression. The message names the key.

    Attributes:
        key: the dotted scenario key or argument name at fault (``"energy.expression"``), or None.
    """

    def __init__(self, message: str, *, key: str | None = None):
        super().__init__(message)
        self.key = key


class FlowDiverged(SteepestError, FloatingPointError):
    """A flow produced a non-finite value, or its energy rose beyond round-off.

    Attributes:
        x: the last finite state (shape ``(dim,)``) of the first sample that failed.
        t: the time of that state.
        step: the index of the step that failed.
        sample: the index of the failing sample in a batch (0 for a single start).
        reason: ``"non-finite"`` or ``"energy-increase"``.
        stability_limit: for explicit schemes, the largest stable step at ``x`` (or None).
        solution: the partial :class:`~steepest.Solution` up to the failure, when available, so
            that no computed data is lost.
    """

    def __init__(
        self,
        message: str,
        *,
        x: Any = None,
        t: float | None = None,
        step: int | None = None,
        sample: int = 0,
        reason: str = "non-finite",
        stability_limit: float | None = None,
        solution: Any = None,
    ):
        super().__init__(message)
        self.x = x
        self.t = t
        self.step = step
        self.sample = sample
        self.reason = reason
        self.stability_limit = stability_limit
        self.solution = solution


class ConvergenceError(SteepestError, RuntimeError):
    """A search or solve that did not converge; the message says how far it got.

    Attributes:
        result: whatever partial result the search produced (or None).
    """

    def __init__(self, message: str, *, result: Any = None):
        super().__init__(message)
        self.result = result
