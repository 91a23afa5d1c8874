"""Training losses on the bundled datasets, their curvature by Lanczos, and bad input."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import steepest as st

# published sizes of the UCI datasets bundled with scikit-learn (n, d, classes)
SIZES = {"digits": (1797, 64, 10), "iris": (150, 4, 3), "wine": (178, 13, 3)}
SIZES["breast_cancer"] = (569, 30, 2)


@pytest.mark.parametrize("name", sorted(SIZES))
def test_datasets_load_offline_with_their_published_sizes(name):
    d = st.learning.load(name)
    assert (d.n, d.d, d.n_classes) == SIZES[name]
    np.testing.assert_allclose(d.X.mean(axis=0), 0.0, atol=1e-12)  # standard scaling
    sd = d.X.std(axis=0)
    np.testing.assert_allclose(sd[sd > 0], 1.0, rtol=1e-12)


def test_losses_at_their_exact_initial_values():
    # zero weights: softmax over K classes gives log K, one logit gives log 2
    iris = st.learning.load("iris")
    assert float(st.learning.logistic_regression(iris)(jnp.zeros(15))) == pytest.approx(
        np.log(3), rel=1e-15
    )
    bc = st.learning.logistic_regression(st.learning.load("breast_cancer"))
    assert float(bc(bc.theta0)) == pytest.approx(np.log(2), rel=1e-15)
    ls = st.learning.least_squares(iris)
    assert float(ls(ls.theta0)) == pytest.approx(0.5, rel=1e-15)  # ½|0 − e_y|² per example
    ls2 = st.learning.least_squares(iris, l2=0.3)
    th = np.linspace(-1, 1, ls2.dim)
    assert float(ls2(th)) == pytest.approx(float(ls(th)) + 0.15 * th @ th, rel=1e-14)


@pytest.fixture(scope="module")
def small_mlp():
    data = st.learning.load("digits", n=64, scaling="center")
    return st.learning.mlp(data, hidden=(6,), activation="tanh", loss="cross-entropy", seed=2)


def test_lanczos_matches_the_dense_hessian(small_mlp):
    L = small_mlp
    theta = np.asarray(L.theta0) + 0.1
    lam = np.linalg.eigvalsh(np.asarray(L.hessian(theta)))
    c = st.learning.curvature(L, theta, method="lanczos", iters=200)
    assert c.lam_max == pytest.approx(lam[-1], rel=1e-9)
    assert c.lam_min == pytest.approx(lam[0], rel=1e-7)
    assert c.residual_max <= 1e-6 * abs(lam[-1])
    p = st.learning.curvature(L, theta, method="power", iters=4000, tol=1e-12)
    assert p.lam_max == pytest.approx(lam[-1], rel=1e-6)
    s, res = st.learning.sharpness_along(L, np.stack([theta, theta + 0.05]), 40)
    lam2 = np.linalg.eigvalsh(np.asarray(L.hessian(theta + 0.05)))[-1]
    np.testing.assert_allclose(s, [lam[-1], lam2], rtol=1e-8)


def test_fisher_is_the_gauss_newton_matrix(small_mlp):
    L = small_mlp
    theta = jnp.asarray(L.theta0)
    z = L.outputs(theta)
    J = jax.jacfwd(lambda t: L.outputs(t))(theta)  # (n, K, P)
    p = jax.nn.softmax(z, axis=-1)
    H = jax.vmap(lambda q: jnp.diag(q) - jnp.outer(q, q))(p)
    F = jnp.einsum("ikp,ikl,ilq->pq", J, H, J) / L.data.n
    np.testing.assert_allclose(np.asarray(L.fisher(theta)), np.asarray(F), atol=1e-13)


def test_equinox_model_equals_the_pure_jax_mlp(small_mlp):
    L = small_mlp
    params = L.unravel(L.theta0)
    model = eqx.nn.MLP(64, 10, 6, 1, activation=jnp.tanh, key=jax.random.PRNGKey(0))
    (W0, b0), (W1, b1) = params
    model = eqx.tree_at(
        lambda m: (m.layers[0].weight, m.layers[0].bias, m.layers[1].weight, m.layers[1].bias),
        model,
        (W0.T, b0, W1.T, b1),
    )
    E = st.learning.from_equinox(model, L.data, loss="cross-entropy")
    assert E.dim == L.dim
    theta = np.asarray(L.theta0)
    perm_theta = np.asarray(E.theta0)
    assert float(E(perm_theta)) == pytest.approx(float(L(theta)), rel=1e-14)
    assert isinstance(E.model_at(perm_theta), eqx.nn.MLP)


def test_bad_input_is_one_sentence():
    iris = st.learning.load("iris")

    def vector_loss(z, t):
        return jnp.sum((z - t) ** 2, axis=-1)  # forgot the mean: one value per example

    with pytest.raises(st.ScenarioError, match="loss: a training loss must be one number"):
        st.learning.from_function(lambda p, X: X @ p, jnp.zeros((4, 3)), iris, loss=vector_loss)
    with pytest.raises(st.ScenarioError, match="energy must be a scalar"):
        st.Potential(lambda x: x * 2.0, dim=3)
    with pytest.raises(st.ScenarioError, match="params: 1 of the 15 initial parameters are NaN"):
        bad = {"W": jnp.zeros((4, 3)).at[0, 0].set(jnp.nan), "b": jnp.zeros(3)}
        st.learning.from_function(lambda p, X: X @ p["W"] + p["b"], bad, iris)
    with pytest.raises(st.ScenarioError, match="theta: 1 of the parameters are NaN"):
        st.learning.curvature(st.learning.least_squares(iris), np.r_[np.nan, np.zeros(14)])
    with pytest.raises(st.ScenarioError, match=r"unknown dataset 'irs' \(did you mean 'iris'\?\)"):
        st.learning.load("irs")
    with pytest.raises(st.ScenarioError, match="model: predict\\(params, X\\) must return one"):
        st.learning.from_function(lambda p, X: p, jnp.zeros(3), iris)
    with pytest.raises(st.ScenarioError, match="A: expected a finite 15 × 15 matrix"):
        st.learning.reparametrised(st.learning.least_squares(iris), np.eye(3))
    with pytest.raises(st.ScenarioError, match="hidden: expected positive layer widths"):
        st.learning.mlp(iris, hidden=(0,))
