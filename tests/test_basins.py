"""Basins of attraction against symmetry and a published fine-grid reference."""

import numpy as np
import pytest

import steepest as st
from published import published
from steepest.landscape.basins import NOT_A_MINIMUM, basins


def test_double_well_halves_and_separatrix():
    bm = basins(st.potentials.get("double-well"), resolution=40)
    np.testing.assert_allclose(bm.fractions, [0.5, 0.5], atol=1e-3)
    np.testing.assert_allclose(np.abs(bm.minima), [[1.0, 0.0], [1.0, 0.0]], atol=1e-10)
    assert bm.unconverged == 0 and bm.not_a_minimum == 0
    # the separatrix is the stable manifold of the saddle (0, 0): the y-axis
    dx = bm.x[1] - bm.x[0]
    assert np.all(np.abs(bm.boundary_points()[:, 0]) <= dx / 2 + 1e-12)


def test_starts_that_do_not_converge_by_t1_get_their_own_label():
    """On (x² − 1)² + y² the slow direction is y (rate 2): |∇V| < 1e-7 needs |y| e^{−2t} ≲ 5e-8,
    so by t1 = 8 the rows far from the axis have not converged; they are labelled and counted,
    not assigned to a basin."""
    from steepest.landscape.basins import UNCONVERGED

    bm = basins(st.potentials.get("double-well"), resolution=40, t1=8.0)
    L = np.asarray(bm.labels)
    assert bm.unconverged == np.sum(L == UNCONVERGED) and 0 < bm.unconverged < L.size
    assert bm.fractions.sum() + bm.unconverged / L.size == pytest.approx(1.0)
    Y = np.broadcast_to(np.abs(bm.y)[:, None], L.shape)
    assert Y[L == UNCONVERGED].min() > Y[L >= 0].min()
    assert Y[L == UNCONVERGED].mean() > Y[L >= 0].mean()
    np.testing.assert_allclose(np.abs(bm.minima), [[1.0, 0.0], [1.0, 0.0]], atol=1e-10)


def test_starts_on_a_stable_manifold_are_counted_not_assigned():
    """With an odd grid, the column x = 0 lies on the saddle's stable manifold."""
    bm = basins(st.potentials.get("double-well"), resolution=41)
    assert bm.not_a_minimum == 41
    assert np.all(bm.labels[:, 20] == NOT_A_MINIMUM)
    assert bm.fractions.sum() + 41 / 41**2 == pytest.approx(1.0)


def test_himmelblau_fractions_match_the_fine_reference():
    ref = published()["himmelblau"]
    fr = ref["basin_fractions_on_box_[-5,5]^2"]
    want = {
        (3.0, 2.0): fr["(3,2)"],
        (-2.805, 3.131): fr["(-2.805,3.131)"],
        (-3.779, -3.283): fr["(-3.779,-3.283)"],
        (3.584, -1.848): fr["(3.584,-1.848)"],
    }
    bm = basins(st.potentials.get("himmelblau"), resolution=200)
    assert len(bm.minima) == 4 and bm.unconverged == 0 and bm.not_a_minimum == 0
    assert bm.fractions.sum() == pytest.approx(1.0, abs=1e-12)
    minima = [np.array(c["x"]) for c in ref["critical_points"] if c["kind"] == "minimum"]
    for m, f in zip(bm.minima, bm.fractions, strict=True):
        assert min(np.linalg.norm(m - p) for p in minima) < 1e-8
        key = min(want, key=lambda k: np.hypot(k[0] - m[0], k[1] - m[1]))
        assert abs(f - want[key]) < 2e-3, (m, f, want[key])


def test_to_xarray():
    ds = basins(st.potentials.get("double-well"), resolution=(20, 10)).to_xarray()
    assert ds["label"].shape == (10, 20) and float(ds["fraction"].sum()) == pytest.approx(1.0)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(V=st.potentials.get("rastrigin", dim=3)), "2-dimensional"),
        (dict(V=st.potentials.get("double-well"), bounds=[(1, 0), (0, 1)]), "bounds"),
        (dict(V=st.potentials.get("double-well"), resolution=1), "resolution"),
        (
            dict(V=st.Potential.from_expression("log(x) + y**2"), bounds=[(-1, 1), (-1, 1)]),
            "not finite",
        ),
    ],
)
def test_bad_input(kwargs, match):
    with pytest.raises(st.ScenarioError, match=match):
        basins(**kwargs)


@pytest.mark.parametrize(
    "name",
    ["himmelblau", pytest.param("muller-brown", marks=pytest.mark.slow)],  # MB: stiff, 80 s
)
def test_every_separatrix_lies_on_a_stable_manifold(name):
    """Basin boundaries are the stable manifolds of the saddles (Himmelblau: four saddles whose
    stable manifolds run from the maximum out of the box; Müller–Brown: two saddles)."""
    from scipy.spatial import cKDTree

    V = st.potentials.get(name)
    cps = st.landscape.critical_points(V)
    stable = np.concatenate(
        [b.points for s in cps.saddles for b in st.landscape.manifolds(V, s).stable]
    )
    bm = basins(V, resolution=120)
    pts = bm.boundary_points()
    cell = np.hypot(bm.x[1] - bm.x[0], bm.y[1] - bm.y[0])
    spacing = np.max(np.linalg.norm(np.diff(stable, axis=0), axis=1)[:50])
    d, _ = cKDTree(stable).query(pts)
    assert len(pts) > 100 and bm.unconverged <= 2
    assert np.max(d) < cell + spacing, (np.max(d), cell)
