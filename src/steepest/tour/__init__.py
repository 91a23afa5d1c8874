"""``steepest tour``: every idea of gradient flows, run, plotted, checked and explained.

:func:`tour` runs each section of :mod:`steepest.tour.sections` (a real computation with its
figures and the numbers it verified) and writes ``index.html`` with the PNGs beside it. A section
that fails is reported on the page with its error; the others still run.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .._core.errors import ScenarioError
from ._section import Check as Check
from ._section import Context as Context
from ._section import SectionResult as SectionResult
from ._section import run_section


@dataclass
class TourReport:
    page: Path
    sections: list[SectionResult]
    seconds: float

    @property
    def ok(self) -> bool:
        return all(s.ok for s in self.sections)


def section_keys(only: list[str] | None = None) -> list[str]:
    from .sections import SECTIONS

    keys = list(SECTIONS)
    if only:
        unknown = [k for k in only if k not in keys]
        if unknown:
            raise ScenarioError(
                f"tour: no section named {', '.join(map(repr, unknown))}; the sections are "
                f"{', '.join(keys)}.",
                key="sections",
            )
        keys = [k for k in keys if k in only]
    return keys


def tour(
    out: str | Path = "tour",
    quick: bool = False,
    sections: list[str] | None = None,
    on_section: Callable[[int, int, str, SectionResult | None], None] | None = None,
) -> TourReport:
    """Run the tour into ``out`` (created); return the report. ``on_section(i, n, module,
    result)`` is called before (result None) and after each section (``title`` the section's
    title), for progress displays."""
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as err:
        raise ScenarioError(
            f"--out: cannot write to the directory {str(out)!r} ({err.strerror}); choose another.",
            key="out",
        ) from None
    from .sections import SECTIONS

    keys = section_keys(sections)
    t0 = time.perf_counter()
    results = []
    for i, key in enumerate(keys, 1):
        if on_section:
            on_section(i, len(keys), SECTIONS[key], None)
        res = run_section(f"{__name__}.sections.{key}", out, quick)
        results.append(res)
        if on_section:
            on_section(i, len(keys), SECTIONS[key], res)
    seconds = time.perf_counter() - t0
    from ._html import write_page

    page = write_page(out, results, quick, seconds)
    (out / "tour.json").write_text(
        json.dumps(
            {
                "quick": quick,
                "seconds": round(seconds, 1),
                "sections": [r.to_dict() for r in results],
            },
            indent=2,
        )
    )
    return TourReport(page, results, seconds)
