"""Critical points: all of them, in the box, classified, against published values."""

from __future__ import annotations

import itertools
from math import comb

import jax.numpy as jnp
import numpy as np
import pytest

import steepest as st
from published import published
from steepest.landscape import critical as C
from steepest.landscape.critical import CriticalPointSet, classify, critical_points


@pytest.fixture(scope="module")
def reference():
    return published()


def assert_matches_reference(found: CriticalPointSet, published: list[dict]) -> None:
    """A one-to-one match: every published point found once, of the same kind, nothing else."""
    assert len(found) == len(published)
    X = np.array([p.x for p in found])
    for ref in published:
        d = np.linalg.norm(X - np.array(ref["x"]), axis=1)
        p = found[int(np.argmin(d))]
        assert d.min() < 1e-8, (ref, p.x)
        assert p.kind == ref["kind"]
        assert p.residual < 1e-10
        if "energy" in ref:
            assert p.energy == pytest.approx(ref["energy"], rel=1e-10, abs=1e-8)
        lam = np.array(ref["hessian_eigenvalues"])
        assert np.allclose(p.eigenvalues, lam, rtol=1e-7, atol=1e-7)


def test_himmelblau_all_nine(reference):
    V = st.potentials.get("himmelblau")
    pts = critical_points(V)
    assert pts.counts == {"minimum": 4, "saddle": 4, "maximum": 1, "degenerate": 0}
    assert len(pts.minima) == 4 and len(pts.saddles) == 4 and len(pts.maxima) == 1
    assert_matches_reference(pts, reference["himmelblau"]["critical_points"])
    check = pts.morse_check
    assert check["holds"] and check["value"] == 1 and check["formula"] == "#min − #saddle + #max"
    energies = [p.energy for p in pts]
    assert energies == sorted(energies)
    assert all(p.index == {"minimum": 0, "saddle": 1, "maximum": 2}[p.kind] for p in pts)


def test_muller_brown_default_settings(reference):
    pts = critical_points(st.potentials.get("muller-brown"))
    assert len(pts.minima) == 3 and len(pts.saddles) == 2 and not pts.maxima
    assert_matches_reference(pts, reference["muller-brown"]["critical_points"])
    assert pts.morse_check["holds"]


@pytest.mark.parametrize("name", ["double-well", "saddle"])
def test_published_points(reference, name):
    pts = critical_points(st.potentials.get(name))
    assert_matches_reference(pts, reference[name]["critical_points"])


def test_saddle_morse_report_fails_without_raising():
    # y² − x² is unbounded below: the relation does not hold, and the check says so
    check = critical_points(st.potentials.get("saddle")).morse_check
    assert check["value"] == -1 and not check["holds"]


@pytest.mark.parametrize(
    "V",
    [st.potentials.get("monkey-saddle"), st.Potential.from_expression("x**3 + y**2")],
    ids=["monkey-saddle", "x3+y2"],
)
def test_degenerate_point_is_flagged(V):
    pts = critical_points(V)
    assert len(pts) == 1 and len(pts.degenerate) == 1
    p = pts[0]
    assert p.kind == "degenerate"
    assert np.linalg.norm(p.x) < 1e-4 and p.residual < 1e-10
    assert pts.counts["minimum"] == pts.counts["saddle"] == pts.counts["maximum"] == 0
    assert not pts.morse_check["holds"]


def test_rastrigin_many_points():
    # 21 critical points per coordinate (11 minima, 10 maxima): 441 in the box, Morse sum 1
    pts = critical_points(st.potentials.get("rastrigin"))
    assert pts.counts == {"minimum": 121, "saddle": 220, "maximum": 100, "degenerate": 0}
    assert pts.morse_check["holds"]
    assert max(p.residual for p in pts) < 1e-10


def double_wells(n: int, Q: np.ndarray | None = None, half: float = 1.6) -> st.Potential:
    if Q is None:
        return st.Potential(lambda x: jnp.sum((x**2 - 1) ** 2), dim=n, bounds=[(-half, half)] * n)
    Qj = jnp.asarray(Q)
    return st.Potential(
        lambda x: jnp.sum(((Qj.T @ x) ** 2 - 1) ** 2), dim=n, bounds=[(-half, half)] * n
    )


def assert_all_products(pts: CriticalPointSet, n: int, Q: np.ndarray) -> None:
    """The critical points are exactly Q·c, c ∈ {−1, 0, 1}ⁿ, with index the number of zeros."""
    cube = np.array(list(itertools.product([-1.0, 0.0, 1.0], repeat=n)))
    images = cube @ Q.T
    assert len(pts) == 3**n
    X = np.array([p.x for p in pts])
    d = np.linalg.norm(X[:, None, :] - images[None, :, :], axis=2)
    nearest = d.argmin(axis=1)
    assert d.min(axis=1).max() < 1e-8
    assert len(set(nearest.tolist())) == 3**n  # one-to-one
    assert [p.index for p in pts] == [int(np.sum(cube[j] == 0)) for j in nearest]
    by_index = np.bincount([p.index for p in pts], minlength=n + 1)
    assert by_index.tolist() == [comb(n, k) * 2 ** (n - k) for k in range(n + 1)]
    assert pts.morse_check["holds"] and pts.morse_check["formula"] == "Σ (−1)^index"


@pytest.mark.parametrize("n", [5, 6])
def test_decoupled_double_wells(n):
    pts = critical_points(double_wells(n))
    assert_all_products(pts, n, np.eye(n))


def rotation(n: int, seed: int = 1) -> np.ndarray:
    Q, R = np.linalg.qr(np.random.default_rng(seed).normal(size=(n, n)))
    return Q * np.sign(np.diag(R))


@pytest.mark.parametrize("n", [5, 6])
def test_rotated_double_wells(n):
    # V(Qᵀx): the critical points Q·c all lie within |c| ≤ √n < 2.8, so the box holds them all
    Q = rotation(n)
    assert_all_products(critical_points(double_wells(n, Q, half=2.8)), n, Q)


def test_classify_known_point(reference):
    V = st.potentials.get("himmelblau")
    p = classify(V, [3.1, 2.1])
    assert p.kind == "minimum" and p.index == 0
    assert np.allclose(p.x, [3.0, 2.0], atol=1e-12) and p.residual < 1e-10
    lam = reference["himmelblau"]["critical_points"][6]["hessian_eigenvalues"]
    assert np.allclose(p.eigenvalues, lam, rtol=1e-10)
    s = classify(V, [3.3, 0.1])
    assert s.kind == "saddle" and s.index == 1
    assert s.to_dict()["kind"] == "saddle"


def test_classify_with_metric_keeps_the_index():
    V = st.potentials.get("himmelblau")
    M = np.array([[2.0, 0.3], [0.3, 1.0]])
    p = classify(V, [3.4, 0.1], metric=st.Preconditioned(M))
    assert p.kind == "saddle" and p.index == 1
    H = np.asarray(V.hessian(jnp.asarray(p.x)))
    assert np.allclose(p.eigenvalues, np.sort(np.linalg.eigvals(np.linalg.solve(M, H)).real))


def test_classify_far_from_any_critical_point():
    V = st.Potential.from_expression("x + y**2")  # ∇V = (1, 2y) never vanishes
    with pytest.raises(st.ConvergenceError, match=r"\|∇V\| = 1"):
        classify(V, [3.0, 4.0])
    assert len(critical_points(V)) == 0


def test_bad_input():
    V = st.potentials.get("himmelblau")
    with pytest.raises(st.ScenarioError, match="dimension 2") as err:
        classify(V, [1.0, 2.0, 3.0])
    assert err.value.key == "x"
    for bad in ([(0.0, 1.0)], [(1.0, 0.0), (0.0, 1.0)], "box"):
        with pytest.raises(st.ScenarioError, match="bounds") as err:
            critical_points(V, bad)
        assert err.value.key == "bounds"
    with pytest.raises(st.ScenarioError, match="n_starts"):
        critical_points(V, n_starts=0)
    with pytest.raises(st.ScenarioError, match="tol"):
        critical_points(V, tol=-1.0)


def test_a_bare_function_or_a_vector_valued_v_is_refused():
    from steepest.landscape import basins, disconnectivity, manifolds

    def f(x):
        return (x[0] ** 2 - 1) ** 2 + x[1] ** 2

    for call in (
        lambda: critical_points(f),
        lambda: classify(f, [1.0, 0.0]),
        lambda: disconnectivity(f),
        lambda: basins(f),
        lambda: manifolds(f, [0.0, 0.0]),
    ):
        with pytest.raises(st.ScenarioError, match="steepest.Potential") as err:
            call()
        assert err.value.key == "V"
    with pytest.raises(st.ScenarioError, match="scalar"):  # V: R² → R², not an energy
        st.Potential(lambda x: x**2, dim=2)


def test_nan_starts_are_skipped():
    # log x is NaN on the left half of the box; the one critical point, (1, ½), is still found
    V = st.Potential.from_expression("log(x) - x + (y - 0.5)**2", bounds=[(-1, 2), (-1, 1)])
    pts = critical_points(V)
    assert len(pts) == 1 and np.allclose(pts[0].x, [1.0, 0.5], atol=1e-12)
    assert pts[0].kind == "saddle"


def test_nowhere_finite_is_a_scenario_error():
    V = st.Potential.from_expression("sqrt(-1 - x**2) + y**2")
    with pytest.raises(st.ScenarioError, match="not finite"):
        critical_points(V)


def test_second_call_does_not_recompile():
    V = st.potentials.get("six-hump-camel")
    first = critical_points(V)
    before = C.COMPILE_COUNT["n"]
    second = critical_points(V)
    assert C.COMPILE_COUNT["n"] == before and second.info["compiles"] == 0
    assert [p.x.tolist() for p in first] == [p.x.tolist() for p in second]
    assert first.counts == {"minimum": 6, "saddle": 7, "maximum": 2, "degenerate": 0}
    classify(V, first[0].x)
    before = C.COMPILE_COUNT["n"]
    classify(V, first[1].x)
    assert C.COMPILE_COUNT["n"] == before
