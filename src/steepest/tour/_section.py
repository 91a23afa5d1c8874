"""What a tour section is: a real run of the library that leaves figures, numbers and checks.

A section module has ``TITLE``, ``IDEA`` (one line) and ``run(ctx)``; ``run`` computes, draws
through :meth:`Context.figure`, states what it found with :meth:`Context.say`, and records every
number it verified with :meth:`Context.check` — values computed in the run, never typed in.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


@dataclass
class Check:
    """A statement the run verified: ``what`` (with the measured value in it), and if it held."""

    what: str
    passed: bool


@dataclass
class SectionResult:
    key: str
    title: str
    idea: str
    paragraphs: list[str] = field(default_factory=list)
    figures: list[tuple[str, str]] = field(default_factory=list)  # (file name, caption)
    checks: list[Check] = field(default_factory=list)
    numbers: list[tuple[str, str]] = field(default_factory=list)  # (label, value)
    error: str | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None and all(c.passed for c in self.checks)

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "title": self.title,
            "ok": self.ok,
            "error": self.error,
            "seconds": round(self.seconds, 2),
            "checks": [{"what": c.what, "passed": c.passed} for c in self.checks],
            "numbers": dict(self.numbers),
            "figures": [f for f, _ in self.figures],
        }


class Context:
    """Handed to a section's ``run``: where to write, how thorough to be, what to report."""

    def __init__(self, out: Path, quick: bool, result: SectionResult):
        self.out = out
        self.quick = quick
        self.result = result

    def say(self, text: str) -> None:
        """A paragraph of explanation (plain text; may use <b>, <i>, <sub>, <sup>)."""
        self.result.paragraphs.append(text)

    def number(self, label: str, value: str) -> None:
        self.result.numbers.append((label, value))

    def check(self, what: str, passed: Any) -> bool:
        """Record a verified statement; ``what`` states the measured value."""
        ok = bool(passed)
        self.result.checks.append(Check(what, ok))
        return ok

    @contextlib.contextmanager
    def figure(self, name: str, caption: str, **subplots: Any) -> Iterator[Any]:
        """``with ctx.figure("paths", "…", ncols=2, figsize=(9, 4)) as (fig, axes):`` → a PNG."""
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt

        figsize = subplots.pop("figsize", (6.4, 4.8))
        fig, axes = plt.subplots(figsize=figsize, **subplots)
        try:
            yield fig, axes
            fname = f"{self.result.key}-{name}.png"
            fig.tight_layout()
            fig.savefig(self.out / fname, dpi=90)
            self.result.figures.append((fname, caption))
        finally:
            plt.close(fig)


def saved(values: T | None, what: str) -> T:
    """What a section saved and reads back (a solution's states, a field run's fields): a run
    that kept none stops the section with a sentence instead of a ``NoneType`` error."""
    if values is None:
        raise RuntimeError(f"the run kept no {what} (not saved); this section reads them.")
    return values


def run_section(module_name: str, out: Path, quick: bool) -> SectionResult:
    """Import and run one section; an exception (on import too) is kept in the result, and the
    tour goes on."""
    import importlib
    import traceback

    from .sections import SECTIONS

    key = module_name.rsplit(".", 1)[-1]
    res = SectionResult(key=key, title=SECTIONS.get(key, key), idea="")
    t0 = time.perf_counter()
    try:
        module = importlib.import_module(module_name)
        res.title, res.idea = module.TITLE, module.IDEA
        module.run(Context(out, quick, res))
    except Exception as err:  # a failed section is reported in the page, the others still run
        tb = traceback.format_exception(type(err), err, err.__traceback__)
        res.error = f"{type(err).__name__}: {err}\n\n" + "".join(tb[-6:])
    res.seconds = time.perf_counter() - t0
    return res
