"""Built-in potentials against published critical points, and the Potential wrapper."""

import jax.numpy as jnp
import numpy as np
import pytest

import steepest as st
from published import published

REQUIRED = [
    "quadratic",
    "double-well",
    "saddle",
    "himmelblau",
    "rosenbrock",
    "muller-brown",
    "six-hump-camel",
    "rastrigin",
]


def test_registry_lists_required_names():
    assert set(REQUIRED) <= set(st.potentials.names())
    for name in st.potentials.names():
        V = st.potentials.get(name)
        assert V.dim >= 1 and np.isfinite(float(V(jnp.zeros(V.dim) + 0.1)))


def test_same_params_same_object():
    assert st.potentials.get("himmelblau") is st.potentials.get("himmelblau")
    assert st.potentials.get("rastrigin", dim=3).dim == 3


def test_unknown_name_and_param_are_named():
    with pytest.raises(st.ScenarioError, match="himmelblow"):
        st.potentials.get("himmelblow")
    with pytest.raises(st.ScenarioError, match="'b'") as e:
        st.potentials.get("himmelblau", b=2)
    assert e.value.key == "energy.params.b"


@pytest.mark.parametrize("name", ["muller-brown", "himmelblau", "double-well", "saddle"])
def test_reference_critical_points(name):
    """Published critical points: ∇V = 0, energies and Hessian eigenvalues match."""
    V = st.potentials.get(name)
    for cp in published()[name]["critical_points"]:
        x = jnp.asarray(cp["x"])
        g = np.asarray(V.grad(x))
        H = np.asarray(V.hessian(x))
        lam = np.linalg.eigvalsh(H)
        scale = np.abs(lam).max()
        # the reference coordinates carry ~12 digits: |∇V| ≲ |H|·1e-11
        assert np.linalg.norm(g) < 1e-9 * max(scale, 1.0), (name, cp)
        assert float(V(x)) == pytest.approx(cp["energy"], abs=1e-9, rel=1e-11)
        np.testing.assert_allclose(np.sort(lam), np.sort(cp["hessian_eigenvalues"]), rtol=1e-8)
        n_neg = int(np.sum(lam < 0))
        assert {"minimum": 0, "saddle": 1, "maximum": 2}[cp["kind"]] == n_neg


def test_known_minima_of_the_classics():
    assert float(st.potentials.get("rosenbrock")(jnp.array([1.0, 1.0]))) == 0.0
    assert float(st.potentials.get("rastrigin", dim=4)(jnp.zeros(4))) == 0.0
    camel = st.potentials.get("six-hump-camel")
    # the two global minima, value −1.0316284535 (Dixon & Szegő 1978)
    for p in ([0.0898420131, -0.7126564030], [-0.0898420131, 0.7126564030]):
        assert float(camel(jnp.array(p))) == pytest.approx(-1.031628453489877, abs=1e-9)
        assert np.linalg.norm(camel.grad(jnp.array(p))) < 1e-7
    assert float(st.potentials.get("saddle")(jnp.array([2.0, 3.0]))) == 5.0


def test_hvp_equals_hessian_times_vector():
    rng = np.random.default_rng(1)
    for name in REQUIRED:
        V = st.potentials.get(name)
        x = jnp.asarray(rng.uniform(-1, 1, V.dim))
        v = jnp.asarray(rng.normal(size=V.dim))
        np.testing.assert_allclose(V.hvp(x, v), V.hessian(x) @ v, rtol=1e-12, atol=1e-10)


def test_batched_evaluation_matches_points():
    V = st.potentials.get("himmelblau")
    X = np.random.default_rng(0).uniform(-5, 5, (4, 3, 2))
    out = np.asarray(V(X))
    assert out.shape == (4, 3)
    assert out[2, 1] == pytest.approx(float(V(X[2, 1])), rel=1e-15)
    assert V.grad(X).shape == (4, 3, 2) and V.hessian(X).shape == (4, 3, 2, 2)


def test_quadratic_checks_its_matrix():
    V = st.potentials.get("quadratic", A=[[2.0, 1.0], [1.0, 3.0]])
    x = jnp.array([1.0, -2.0])
    assert float(V(x)) == pytest.approx(0.5 * (2 - 4 + 12))
    with pytest.raises(st.ScenarioError, match="symmetric"):
        st.potentials.get("quadratic", A=[[1.0, 2.0], [0.0, 1.0]])


def test_potential_wrapper_and_expression_agree():
    a = st.Potential(
        lambda x: (x[0] ** 2 - 1) ** 2 + x[1] ** 2, dim=2, bounds=((-2, 2), (-1.5, 1.5))
    )
    b = st.Potential.from_expression("(x**2 - 1)**2 + y**2")
    x = jnp.array([0.3, -0.7])
    assert float(a(x)) == float(b(x))
    np.testing.assert_array_equal(a.grad(x), b.grad(x))
    assert a.plot_bounds == ((-2.0, 2.0), (-1.5, 1.5)) and b.dim == 2


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(fn=lambda x: x, dim=2), "scalar"),
        (dict(fn=lambda x: x @ jnp.ones(3), dim=2), "failed"),
        (dict(fn=lambda x: x[0], dim=0), "dim"),
        (dict(fn=lambda x: x[0], dim=2, bounds=[(1, 0), (0, 1)]), "low < high"),
        (dict(fn=lambda x: x[0], dim=2, bounds=[(0, 1)]), "pairs"),
        (dict(fn=3, dim=2), "function"),
    ],
)
def test_potential_refuses_bad_input(kwargs, match):
    with pytest.raises(st.ScenarioError, match=match):
        st.Potential(**kwargs)
