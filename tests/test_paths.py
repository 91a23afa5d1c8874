"""st.paths on model surfaces: CI-NEB, the string method, dimer and gentlest ascent.

The reference saddle, minima and energies of Müller–Brown are the published ones
(../shared/reference/potentials.json); every other number follows from the mathematics of the
method (the NEB force vanishes on a minimum energy path; the climbing image sits on an index-1
saddle; a minimum energy path is a union of steepest-descent curves from saddles).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

import steepest as st
from published import published
from steepest import ScenarioError
from steepest.cli.app import app

A_TYPED, B_TYPED = (-0.558, 1.442), (0.623, 0.028)  # 3-decimal coordinates, as a user types them


@pytest.fixture(scope="module")
def mb():
    return st.potentials.get("muller-brown")


@pytest.fixture(scope="module")
def ref():
    pts = published()["muller-brown"]["critical_points"]
    minima = sorted((p for p in pts if p["kind"] == "minimum"), key=lambda p: p["energy"])
    saddles = sorted((p for p in pts if p["kind"] == "saddle"), key=lambda p: p["energy"])
    return {"A": minima[0], "B": minima[1], "C": minima[2], "S1": saddles[1], "S2": saddles[0]}


@pytest.fixture(scope="module")
def ci_neb(mb):
    return st.paths.neb(mb, A_TYPED, B_TYPED, n_images=9, climb=True)


def _dist_to_polyline(p, X):
    """Distance from point p to the polyline through the rows of X."""
    best = np.inf
    for a, b in zip(X[:-1], X[1:], strict=True):
        t = np.clip(np.dot(p - a, b - a) / np.dot(b - a, b - a), 0.0, 1.0)
        best = min(best, float(np.linalg.norm(a + t * (b - a) - p)))
    return best


def test_ci_neb_finds_the_published_saddle(ci_neb, ref):
    p = ci_neb
    assert p.converged and p.max_force <= 0.01
    np.testing.assert_allclose(p.saddle.x, ref["S1"]["x"], atol=1e-3)
    assert p.saddle.energy == pytest.approx(ref["S1"]["energy"], abs=1e-3)
    assert p.saddle.kind == "saddle" and p.saddle.index == 1 and p.saddle.residual < 1e-10
    # the endpoints were polished to the true minima, and the result says how far they moved
    np.testing.assert_allclose(p.images[0], ref["A"]["x"], atol=1e-10)
    np.testing.assert_allclose(p.images[-1], ref["B"]["x"], atol=1e-10)
    assert 1e-4 < p.endpoint_shift[0] < 1e-3 and 1e-4 < p.endpoint_shift[1] < 1e-3
    assert p.barrier_forward == pytest.approx(ref["S1"]["energy"] - ref["A"]["energy"], abs=1e-8)
    assert p.barrier_backward == pytest.approx(ref["S1"]["energy"] - ref["B"]["energy"], abs=1e-8)


def test_the_climbing_image_holds_a_true_criterion(mb, ci_neb):
    """converged means every moving image's NEB force ≤ fmax, the climbing one included:
    recompute the forces from the returned band, independently of the optimiser."""
    from steepest.paths.neb import neb_forces

    X = ci_neb.images
    E = np.array([float(mb(x)) for x in X])
    G = np.array([np.asarray(mb.grad(x)) for x in X])
    c = int(np.argmax(E[1:-1])) + 1
    F, _ = neb_forces(X, E, G, ci_neb.info["spring"], c)
    assert np.linalg.norm(F, axis=1).max() <= 0.01
    # the climbing image itself is near the saddle: its full gradient is small there
    assert np.linalg.norm(G[c]) <= 0.01


def test_the_path_passes_the_intermediate_minimum_and_both_saddles(ci_neb, ref):
    p = ci_neb
    assert _dist_to_polyline(np.array(ref["C"]["x"]), p.images) < 0.05
    xs = sorted((s.x for s in p.saddles), key=lambda x: x[0])
    assert len(xs) == 2
    np.testing.assert_allclose(xs[0], ref["S1"]["x"], atol=1e-8)
    np.testing.assert_allclose(xs[1], ref["S2"]["x"], atol=1e-8)


def test_saddle_connects_the_minima_its_unstable_manifold_reaches(ci_neb, ref):
    # the higher saddle S1 joins A and the intermediate minimum C (not B)
    a, c = ci_neb.connects
    np.testing.assert_allclose(a.x, ref["A"]["x"], atol=1e-8)
    np.testing.assert_allclose(c.x, ref["C"]["x"], atol=1e-8)


def test_saddles_agree_with_the_landscape_search(mb, ci_neb):
    cps = st.landscape.critical_points(mb)
    for s in ci_neb.saddles:
        d = min(np.linalg.norm(s.x - q.x) for q in cps.saddles)
        assert d < 1e-8


def test_string_method_finds_the_same_path(mb, ci_neb, ref):
    p = st.paths.string(mb, A_TYPED, B_TYPED, n_images=11)
    assert p.converged and p.method == "string"
    np.testing.assert_allclose(p.saddle.x, ref["S1"]["x"], atol=1e-8)
    assert _dist_to_polyline(np.array(ref["C"]["x"]), p.images) < 0.05
    # images evenly spaced in arc length (the reparametrisation)
    d = np.linalg.norm(np.diff(p.images, axis=0), axis=1)
    assert d.max() / d.min() < 1.1
    # the string and the band are the same curve: every image of the band lies on the (finer)
    # string, to within the chord error of an 11-image polyline on this curved path
    assert max(_dist_to_polyline(x, p.images) for x in ci_neb.images) < 0.05


@pytest.mark.parametrize("optimizer", ["fire", "lbfgs"])
def test_other_optimisers_converge_to_the_same_saddle(mb, ref, optimizer):
    p = st.paths.neb(mb, A_TYPED, B_TYPED, n_images=9, optimizer=optimizer, verify=False)
    assert p.converged and p.info["optimizer"] == optimizer
    np.testing.assert_allclose(p.saddle.x, ref["S1"]["x"], atol=1e-8)


def test_a_budget_that_runs_out_is_not_converged(mb):
    p = st.paths.neb(mb, A_TYPED, B_TYPED, n_images=9, optimizer="fire", max_iter=5, verify=False)
    assert not p.converged and p.iterations == 5 and p.max_force > 0.01


@pytest.mark.parametrize("minimum", ["A", "B", "C"])
@pytest.mark.parametrize("method", ["dimer", "gentlest-ascent"])
def test_single_ended_searches_from_each_minimum_reach_index_one(mb, ref, minimum, method):
    saddles = st.paths.escape_saddles(mb, np.round(ref[minimum]["x"], 3), method=method)
    assert saddles
    published_saddles = [np.array(ref[k]["x"]) for k in ("S1", "S2")]
    for s in saddles:
        assert s.kind == "saddle" and s.index == 1 and s.residual < 1e-10
        assert min(np.linalg.norm(s.x - q) for q in published_saddles) < 1e-8


def test_dimer_and_gad_from_a_guess_with_a_direction(mb, ref):
    x0 = np.array(ref["C"]["x"]) + [0.05, -0.04]
    v0 = np.array(ref["S2"]["x"]) - np.array(ref["C"]["x"])
    for f in (st.paths.dimer, st.paths.gentlest_ascent):
        s = f(mb, x0, v0)
        np.testing.assert_allclose(s.x, ref["S2"]["x"], atol=1e-8)
        assert s.index == 1 and s.extra["force_calls"] > 0


def test_double_well_barrier_is_exact():
    V = st.potentials.get("double-well")  # (x² − 1)² + y²: saddle (0, 0), barrier 1
    p = st.paths.neb(V, [-0.98, 0.02], [1.01, -0.01], n_images=5)
    assert p.converged
    np.testing.assert_allclose(p.saddle.x, [0.0, 0.0], atol=1e-12)
    assert p.barrier_forward == pytest.approx(1.0, abs=1e-12)
    assert p.barrier_backward == pytest.approx(1.0, abs=1e-12)


def test_harmonic_rate_from_the_path(mb, ci_neb):
    from steepest.paths import harmonic_rate

    r = harmonic_rate(mb, ci_neb.images[0], ci_neb.saddle.x, kT=10.0)
    assert r.barrier == pytest.approx(ci_neb.barrier_forward, abs=1e-8)
    assert r.k > 0


# -- bad input ------------------------------------------------------------------------------------
def test_too_few_images_is_refused(mb):
    with pytest.raises(ScenarioError, match=r"n_images: expected an integer ≥ 3") as e:
        st.paths.neb(mb, A_TYPED, B_TYPED, n_images=2)
    assert e.value.key == "n_images"
    with pytest.raises(ScenarioError, match="n_images"):
        st.paths.string(mb, A_TYPED, B_TYPED, n_images=1)


def test_endpoint_at_a_saddle_is_refused(mb, ref):
    with pytest.raises(ScenarioError, match=r"to: .* polishes to a saddle") as e:
        st.paths.neb(mb, A_TYPED, ref["S2"]["x"], n_images=5)
    assert e.value.key == "to"


def test_endpoints_in_the_same_basin_are_refused(mb):
    with pytest.raises(ScenarioError, match="same minimum"):
        st.paths.neb(mb, A_TYPED, (-0.56, 1.44), n_images=5)


def test_far_endpoint_is_descended_to_its_minimum(mb, ref):
    # not in Newton's basin of B, but downhill from it: a descent finds B, and the path says so
    p = st.paths.neb(mb, A_TYPED, (0.45, 0.2), n_images=7, verify=False)
    np.testing.assert_allclose(p.images[-1], ref["B"]["x"], atol=1e-10)
    assert p.endpoint_shift[1] > 0.1


@pytest.mark.parametrize(
    "kwargs, key",
    [
        ({"a": (0.1,)}, "from"),
        ({"b": (np.nan, 0.0)}, "to"),
        ({"optimizer": "adam"}, "optimizer"),
        ({"fmax": 0.0}, "fmax"),
        ({"spring": -1.0}, "spring"),
    ],
)
def test_bad_arguments_name_their_key(mb, kwargs, key):
    args = {"a": A_TYPED, "b": B_TYPED, **kwargs}
    a, b = args.pop("a"), args.pop("b")
    with pytest.raises(ScenarioError) as e:
        st.paths.neb(mb, a, b, n_images=5, **args)
    assert e.value.key == key


# -- CLI ------------------------------------------------------------------------------------------
def test_cli_path_json(ref, tmp_path):
    r = CliRunner().invoke(
        app,
        ["path", "muller-brown", "--from", "-0.558,1.442", "--to", "0.623,0.028", "--json",
         "--out", str(tmp_path)],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert {"saddle", "barrier_forward", "barrier_backward", "force_calls", "converged"} <= set(d)
    np.testing.assert_allclose(d["saddle"]["x"], ref["S1"]["x"], atol=1e-8)
    assert d["saddle"]["energy"] == pytest.approx(ref["S1"]["energy"], abs=1e-8)
    assert d["converged"] is True and d["force_calls"] > 0
    assert (tmp_path / "path.json").is_file() and (tmp_path / "path.png").stat().st_size > 10_000


def test_cli_path_string_table(tmp_path):
    r = CliRunner().invoke(
        app,
        ["path", "double-well", "--from", "-1,0", "--to", "1,0", "--method", "string",
         "--images", "7", "--out", str(tmp_path)],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "barrier" in r.output and "converged" in r.output


@pytest.mark.parametrize(
    "args, words",
    [
        (["--from", "1,2,3", "--to", "1,0"], "--from"),
        (["--from", "a,b", "--to", "1,0"], "--from"),
        (["--from", "-1,0", "--to", "1,0", "--method", "nudge"], "--method"),
        (["--from", "-1,0", "--to", "1,0", "--images", "2"], "n_images"),
    ],
)
def test_cli_path_bad_input_is_one_sentence(args, words):
    r = CliRunner().invoke(app, ["path", "double-well", *args])
    assert r.exit_code == 2
    assert words in r.output and "Traceback" not in r.output


@pytest.mark.parametrize("n_images", [5, 7])
def test_plain_neb_through_the_intermediate_minimum_converges(mb, n_images):
    """Without a climbing image, 3 or 5 moving images straddle the intermediate minimum C,
    where the tangent turns: the spring chain's Newton step is then a poor one, and ODE12r
    must be able to shorten it when it rejects a step (it once stalled at the smallest h)."""
    p = st.paths.neb(mb, A_TYPED, B_TYPED, n_images=n_images, climb=False, verify=False)
    assert p.converged and p.max_force <= 0.01
    from steepest.paths.neb import neb_forces

    X = p.images
    E = np.array([float(mb(x)) for x in X])
    G = np.array([np.asarray(mb.grad(x)) for x in X])
    F, _ = neb_forces(X, E, G, p.info["spring"], None)
    assert np.linalg.norm(F, axis=1).max() <= 0.01
