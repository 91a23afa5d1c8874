"""Stable and unstable manifolds of index-1 saddles (steepest.landscape.manifolds)."""

import numpy as np
import pytest

import steepest as st
from published import published
from steepest.landscape import CriticalPoint, manifolds

REF = published()
KIND_INDEX = {"minimum": 0, "saddle": 1, "maximum": 2}


def point(V, entry):
    """A CriticalPoint from a reference entry (no dependence on critical-point search)."""
    x = np.asarray(entry["x"], dtype=float)
    lam, vec = np.linalg.eigh(np.asarray(V.hessian(x)))
    res = float(np.linalg.norm(V.grad(x)))
    return CriticalPoint(x, float(V(x)), KIND_INDEX[entry["kind"]], entry["kind"], lam, vec, res)


def reference(name, kind):
    return [c for c in REF[name]["critical_points"] if c["kind"] == kind]


def close_to_one_of(x, candidates, tol):
    d = [np.linalg.norm(np.asarray(x) - np.asarray(c["x"])) for c in candidates]
    return int(np.argmin(d)) if min(d) < tol else None


@pytest.fixture(scope="module")
def saddle_case():
    V = st.potentials.get("saddle")
    return V, manifolds(V, point(V, reference("saddle", "saddle")[0]))


def saddles_of(name):
    """The potential and, for each published saddle, (reference entry, its manifolds)."""
    V = st.potentials.get(name)
    box = REF[name]["box"]
    return V, [(s, manifolds(V, point(V, s), bounds=box)) for s in reference(name, "saddle")]


@pytest.fixture(scope="module")
def muller_brown():
    return saddles_of("muller-brown")


@pytest.fixture(scope="module")
def himmelblau():
    return saddles_of("himmelblau")


def test_saddle_manifolds_are_the_axes(saddle_case):
    V, m = saddle_case
    edge = 1.5 * 1.1  # the box [-1.5, 1.5]² enlarged by 5% of its width on each side
    assert [b.sign for b in m.unstable] == [1, -1]
    for b in m.unstable:
        x, y = b.points.T
        assert b.direction == "unstable" and b.end == "left bounds"
        assert np.max(np.abs(y)) < 1e-8
        assert np.all(np.diff(b.sign * x) > 0)  # monotone out to the box edge
        assert b.points[0].tolist() == [0.0, 0.0]
        np.testing.assert_allclose(b.end_point, [b.sign * edge, 0.0], atol=1e-12)
    for b in m.stable:
        x, y = b.points.T
        assert b.direction == "stable" and b.end == "left bounds"
        assert np.max(np.abs(x)) < 1e-8
        assert np.all(np.diff(b.sign * y) > 0)
    assert {tuple(np.sign(b.end_point)) for b in m.stable} == {(0.0, 1.0), (0.0, -1.0)}
    assert m.connects == (None, None)
    assert m.saddle.index == 1 and m.saddle.kind == "saddle"


def test_muller_brown_saddles_connect_their_adjacent_minima(muller_brown):
    V, cases = muller_brown
    minima = reference("muller-brown", "minimum")
    expected = {
        (-0.822, 0.624): {(-0.558, 1.442), (-0.050, 0.467)},
        (0.212, 0.293): {(-0.050, 0.467), (0.623, 0.028)},
    }
    for s, m in cases:
        assert [b.end for b in m.unstable] == ["minimum", "minimum"]
        reached = set()
        for end in m.connects:
            j = close_to_one_of(end, minima, 1e-8)
            assert j is not None, end
            reached.add(tuple(round(v, 3) for v in minima[j]["x"]))
        assert reached == expected[tuple(round(v, 3) for v in s["x"])]
        for b in m.unstable:
            E = np.asarray(V(b.points))
            assert E[0] == pytest.approx(s["energy"], abs=1e-9)
            assert np.all(np.diff(E) < 0), "energy must fall strictly along W^u"
            assert np.linalg.norm(V.grad(b.end_point)) < 1e-9


def test_himmelblau_saddles_connect_two_minima_and_stable_branches_reach_the_maximum(
    himmelblau,
):
    V, cases = himmelblau
    minima = reference("himmelblau", "minimum")
    maximum = np.asarray(reference("himmelblau", "maximum")[0]["x"])
    box = np.asarray(REF["himmelblau"]["box"], dtype=float)
    big = box + 0.05 * (box[:, 1] - box[:, 0])[:, None] * np.array([-1.0, 1.0])
    pairs = set()
    for _s, m in cases:
        ends = [close_to_one_of(e, minima, 1e-8) for e in m.connects]
        assert None not in ends and ends[0] != ends[1]
        pairs.add(frozenset(ends))
        for b in m.unstable:
            assert np.all(np.diff(np.asarray(V(b.points))) < 0)
        assert len(m.stable) == 2
        for b in m.stable:
            assert b.end in ("maximum", "left bounds")
            if b.end == "maximum":
                np.testing.assert_allclose(b.end_point, maximum, atol=1e-8)
            else:
                on_edge = np.isclose(b.end_point[:, None], big, atol=1e-9).any()
                assert on_edge, b.end_point
            assert np.all(np.diff(np.asarray(V(b.points))) > 0)  # W^s climbs away from s
        assert "maximum" in [b.end for b in m.stable]
    assert len(pairs) == 4  # the four saddles link the four minima in a ring


def test_branches_are_evenly_spaced_in_arc_length(saddle_case, muller_brown, himmelblau):
    branches = list(saddle_case[1].unstable) + list(saddle_case[1].stable)
    for _, m in muller_brown[1] + himmelblau[1]:
        branches += m.unstable + m.stable
    for b in branches:
        assert b.points.shape == (400, 2) and b.arclength.shape == (400,)
        d = np.linalg.norm(np.diff(b.points, axis=0), axis=1)
        np.testing.assert_allclose(d[1:], d[1:].mean(), rtol=1e-2)
        np.testing.assert_allclose(b.arclength, np.linspace(0, b.arclength[-1], 400))
        assert np.sum(d) == pytest.approx(b.arclength[-1], rel=1e-3)
        # the curve leaves the saddle along ±v: the first chord is tangent to sign·v
        cos = d[0] and (b.points[1] - b.points[0]) @ b.tangent / d[0]
        assert cos > 0.99


def test_n_points_and_a_raw_point(himmelblau):
    V, cases = himmelblau
    s = cases[0][0]
    m = manifolds(V, np.asarray(s["x"]), bounds=REF["himmelblau"]["box"], n_points=50)
    assert m.unstable[0].points.shape == (50, 2)
    np.testing.assert_allclose(m.connects[0], cases[0][1].connects[0], atol=1e-10)


def test_bad_input():
    V = st.potentials.get("himmelblau")
    mins = reference("himmelblau", "minimum")
    with pytest.raises(st.ScenarioError, match="index 0; give an index-1 saddle"):
        manifolds(V, point(V, mins[0]))
    with pytest.raises(st.ScenarioError, match="index 2"):
        manifolds(V, point(V, reference("himmelblau", "maximum")[0]))
    with pytest.raises(st.ScenarioError, match="not a critical point"):
        manifolds(V, np.array([1.0, 1.0]))
    with pytest.raises(st.ScenarioError, match="shape"):
        manifolds(V, np.array([1.0, 1.0, 1.0]))
    with pytest.raises(st.ScenarioError, match="eps"):
        manifolds(V, reference("himmelblau", "saddle")[0]["x"], eps=0.0)
    with pytest.raises(st.ScenarioError, match="outside the bounds"):
        manifolds(V, reference("himmelblau", "saddle")[0]["x"], bounds=[[0, 1], [0, 1]])


def test_three_dimensional_skeleton_with_a_metric():
    # V = (x² − 1)² + y² + z² in the metric G = diag(1, 2, 3): the pencil ∇²V v = λGv has
    # λ = −4, 2/3, 1 on the axes, so W^u is the x-axis and W^s (the y–z plane) is sketched by
    # four half-axes.
    V = st.potentials.get("double-well", dim=3)
    m = manifolds(V, np.zeros(3), metric=st.Preconditioned(np.diag([1.0, 2.0, 3.0])))
    np.testing.assert_allclose(m.saddle.eigenvalues, [-4.0, 2 / 3, 1.0])
    ends = sorted(tuple(np.round(e, 12)) for e in m.connects)
    assert ends == [(-1.0, 0.0, 0.0), (1.0, 0.0, 0.0)]
    for b in m.unstable:
        assert np.max(np.abs(b.points[:, 1:])) < 1e-8
    assert len(m.stable) == 4
    axes = set()
    for b in m.stable:
        assert b.end == "left bounds" and b.points.shape == (400, 3)
        assert np.max(np.abs(b.points[:, 0])) < 1e-8
        k = int(np.argmax(np.abs(b.tangent)))
        assert np.max(np.abs(np.delete(b.points, k, axis=1))) < 1e-8
        axes.add((k, b.sign))
    assert axes == {(1, 1), (1, -1), (2, 1), (2, -1)}


def test_t_max_stops_a_branch(saddle_case):
    V, _ = saddle_case
    m = manifolds(V, np.zeros(2), t_max=1.0)  # |x| = 1e-6 e^{2t} never reaches the box edge
    for b in m.unstable + m.stable:
        assert b.end == "t_max"
        assert np.linalg.norm(b.end_point) == pytest.approx(1e-6 * np.exp(2.0), rel=1e-6)
        np.testing.assert_array_equal(b.points[-1], b.end_point)
    assert m.connects == (None, None)
