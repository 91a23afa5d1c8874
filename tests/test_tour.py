"""`steepest tour`: every section runs and its checks hold, the page works in a real browser,
a failing section is reported while the others run."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import types

import pytest
from typer.testing import CliRunner

from steepest.cli.app import app


@pytest.fixture(scope="module")
def quick_tour(tmp_path_factory):
    out = tmp_path_factory.mktemp("tour")
    r = CliRunner().invoke(app, ["tour", "--quick", "--out", str(out)])
    return out, r


def test_quick_tour_every_section_passes(quick_tour):
    out, r = quick_tour
    report = json.loads((out / "tour.json").read_text())
    failed = {
        s["key"]: s["error"] or [c for c in s["checks"] if not c["passed"]]
        for s in report["sections"]
        if not s["ok"]
    }
    assert not failed, failed
    assert r.exit_code == 0, r.output
    from steepest.tour.sections import SECTIONS

    assert [s["key"] for s in report["sections"]] == list(SECTIONS)
    # the progress display names each section as it finishes, with its place in the run
    n = len(SECTIONS)
    for i, s in enumerate(report["sections"], 1):
        assert f"[{i}/{n}] {s['title']}" in r.output, r.output
    assert "All sections passed" in r.output
    for s in report["sections"]:
        assert s["checks"], f"section {s['key']} verified nothing"
        assert s["figures"], f"section {s['key']} drew nothing"
        for f in s["figures"]:
            assert (out / f).stat().st_size > 5_000
    html = (out / "index.html").read_text()
    assert "http://" not in html and "https://" not in html  # nothing fetched from the network
    assert "<script" not in html


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    if os.geteuid() == 0 and shutil.which("apt-get"):  # the test set-up installs Debian's chromium
        subprocess.run(["apt-get", "update", "-qq"], capture_output=True, timeout=600)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "chromium"], capture_output=True, timeout=900
        )
    return shutil.which("chromium")


def test_page_in_a_real_browser(quick_tour):
    out, _ = quick_tour
    exe = _chromium()
    if exe is None:
        pytest.skip("no chromium here and it cannot be installed (not root, or no apt-get)")
    pw = pytest.importorskip("playwright.sync_api", reason="playwright is in the test extras")
    problems: list[str] = []
    with pw.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=exe,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
            ],
        )
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.on("requestfailed", lambda r: problems.append(f"failed to load {r.url}"))
        page.goto((out / "index.html").as_uri())
        page.wait_for_load_state("load")
        images = page.eval_on_selector_all(
            "img", "els => els.map(e => [e.getAttribute('src'), e.complete, e.naturalWidth])"
        )
        page.screenshot(path=str(out / "screenshot.png"), full_page=False)
        browser.close()
    assert images, "the page shows no images"
    broken = [src for src, done, w in images if not (done and w > 0)]
    assert not broken, broken
    assert not problems, problems
    assert (out / "screenshot.png").stat().st_size > 20_000


def test_a_failing_section_is_reported_and_the_rest_run(tmp_path, monkeypatch):
    from steepest.tour import tour

    broken = types.ModuleType("steepest.tour.sections.laplacian")
    broken.TITLE, broken.IDEA = "A section that breaks", "It raises."

    def run(ctx):
        raise RuntimeError("deliberately broken")

    broken.run = run
    monkeypatch.setitem(sys.modules, "steepest.tour.sections.laplacian", broken)
    report = tour(tmp_path, quick=True, sections=["laplacian", "flux"])
    by_key = {s.key: s for s in report.sections}
    bad, good = by_key["laplacian"], by_key["flux"]
    assert not bad.ok and "deliberately broken" in bad.error
    assert good.ok and good.checks
    html = (tmp_path / "index.html").read_text()
    assert "deliberately broken" in html and "This section failed" in html


def test_bad_arguments_are_one_sentence(tmp_path):
    r = CliRunner().invoke(app, ["tour", "--section", "nope", "--out", str(tmp_path)])
    assert r.exit_code == 2 and "no section named 'nope'" in r.output
    blocker = tmp_path / "file"
    blocker.write_text("")
    r = CliRunner().invoke(app, ["tour", "--out", str(blocker / "sub")])
    assert r.exit_code == 2 and "cannot write" in r.output


@pytest.mark.slow
def test_full_tour_every_section_passes(tmp_path):
    """The full tour (what `steepest tour` runs without --quick): bigger grids and longer runs
    than the quick one, so a scheme setting that only fails at full size shows here."""
    r = CliRunner().invoke(app, ["tour", "--out", str(tmp_path)])
    report = json.loads((tmp_path / "tour.json").read_text())
    failed = {s["key"]: s["error"] for s in report["sections"] if not s["ok"]}
    assert not failed, failed
    assert r.exit_code == 0 and "All sections passed" in r.output


def test_map_section_reports_a_path_without_a_saddle(tmp_path):
    """A CI-NEB path whose maxima refine to no index-1 saddle (``saddle`` None) is a failed
    check with the run's numbers, and the figure is drawn without a saddle; it used to stop the
    section with "'NoneType' object has no attribute 'x'"."""
    import numpy as np

    import steepest as st
    from steepest.paths.path import Path
    from steepest.tour._section import Context, SectionResult
    from steepest.tour.sections import map as map_section

    MB = st.potentials.get("muller-brown")
    images = np.linspace([-0.558, 1.442], [0.623, 0.028], 11)
    energies = np.asarray([float(MB(x)) for x in images])
    path = Path(
        images=images,
        energies=energies,
        tangents=np.zeros_like(images),
        saddle=None,
        saddles=[],
        barrier_forward=float(energies.max() - energies[0]),
        barrier_backward=float(energies.max() - energies[-1]),
        force_calls=7,
        hessian_calls=0,
        iterations=3,
        converged=False,
        max_force=2.5,
        connects=None,
        endpoint_shift=(0.0, 0.0),
        method="neb",
    )
    res = SectionResult(key="map", title="", idea="")
    map_section._transition_path(Context(tmp_path, True, res), MB, path)
    assert [c.passed for c in res.checks] == [False]
    assert "found no saddle" in res.checks[0].what and "7 force calls" in res.checks[0].what
    assert dict(res.numbers)["barrier forward"] == f"{path.barrier_forward:.3f}"
    assert (tmp_path / "map-path.png").is_file()


def test_saved_names_what_a_run_did_not_keep():
    from steepest.tour._section import saved

    states = [[0.0, 1.0]]
    assert saved(states, "states") is states
    with pytest.raises(RuntimeError, match="kept no fields"):
        saved(None, "fields")
