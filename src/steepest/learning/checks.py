"""Checks shared by every optimiser and flow of this package: one clear sentence per mistake."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._core.errors import ScenarioError
from ..energy.potential import Potential


def check_step(h: Any, key: str = "h", what: str = "the step size") -> float:
    """A step size (learning rate) or a time: a finite number > 0, else one ScenarioError."""
    try:
        v = float(h)
    except (TypeError, ValueError):
        v = math.nan
    if isinstance(h, bool) or not math.isfinite(v) or v <= 0:
        hint = (
            "; pass e.g. h=0.1, and see st.learning.diagnose(loss) for the stable range"
            if key in ("h", "step", "lr", "train.step")
            else ""
        )
        raise ScenarioError(f"{key}: {what} must be a finite number > 0, got {h!r}{hint}.", key=key)
    return v


def check_steps(n: Any, key: str = "steps") -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ScenarioError(f"{key}: expected a positive integer, got {n!r}.", key=key)
    return int(n)


def start_of(loss: Potential, theta0: Any, key: str = "theta0") -> np.ndarray:
    """The start: ``theta0`` or the loss's initial parameters, checked finite and of the right
    shape."""
    if theta0 is None:
        theta0 = getattr(loss, "theta0", None)
        if theta0 is None:
            raise ScenarioError(f"{key}: give the starting parameters.", key=key)
    try:
        x = np.asarray(theta0, dtype=float)
    except (TypeError, ValueError):
        raise ScenarioError(
            f"{key}: expected an array of numbers, got {theta0!r}.", key=key
        ) from None
    if x.shape != (loss.dim,):
        raise ScenarioError(
            f"{key}: expected {loss.dim} parameters (shape ({loss.dim},)), got shape {x.shape}.",
            key=key,
        )
    bad = int(np.sum(~np.isfinite(x)))
    if bad:
        raise ScenarioError(
            f"{key}: {bad} of the {x.size} parameters are NaN or infinite; start from finite "
            "values (e.g. the model's initialisation, loss.theta0).",
            key=key,
        )
    return x


def save_every(steps: int, every: int | None, max_saves: int = 200) -> int:
    """Save every ``every`` steps (it must divide ``steps``, so that the flow is saved at the
    same times); default the smallest divisor giving at most ``max_saves`` saves."""
    if every is None:
        return next(d for d in range(1, steps + 1) if steps % d == 0 and steps // d <= max_saves)
    every = check_steps(every, "every")
    if steps % every:
        raise ScenarioError(
            f"every: {every} does not divide steps = {steps}; GD and the flow are saved at the "
            "same times t = k·every·h, so pick a divisor.",
            key="every",
        )
    return every
