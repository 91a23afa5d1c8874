"""The user guide: every ```python block of every page runs, in order, page by page; the site
builds with mkdocs in strict mode (no broken links, no missing pages)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).parents[1] / "docs"
PAGES = [DOCS / "index.md", *sorted((DOCS / "guide").glob("*.md"))]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def blocks(page: Path) -> list[str]:
    return BLOCK.findall(page.read_text(encoding="utf-8"))


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.stem)
def test_every_code_block_runs(page, tmp_path, monkeypatch):
    code = blocks(page)
    if page.name != "index.md":
        assert code, f"{page.name} has no runnable example"
    monkeypatch.chdir(tmp_path)  # pages write their files to the working directory
    ns: dict = {"__name__": f"docs_{page.stem}"}
    for i, src in enumerate(code, 1):
        try:
            exec(compile(src, f"{page.name}, block {i}", "exec"), ns)
        except Exception as err:
            raise AssertionError(f"{page.name}, block {i} failed: {err!r}\n{src}") from err


def test_the_site_builds_strict(tmp_path):
    r = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=DOCS.parent,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert r.returncode == 0, r.stderr[-3000:]
    assert (tmp_path / "site" / "index.html").exists()
