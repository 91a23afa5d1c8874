"""Grids and operators: the discrete divergence theorem, grad/div adjointness, Laplacian =
div∘grad, and the transforms that diagonalise the Laplacian — all to round-off."""

import itertools

import jax.numpy as jnp
import numpy as np
import pytest
import scipy.fft as sfft

from steepest import ScenarioError
from steepest.fields import FiniteVolumeGrid, SpectralGrid, make_grid
from steepest.fields import operators as ops

RNG = np.random.default_rng(7)
SHAPES = {1: (11,), 2: (7, 6), 3: (5, 4, 6)}
LENGTHS = {1: (1.3,), 2: (1.0, 2.5), 3: (1.0, 0.7, 1.9)}
CASES = [(d, bc) for d in (1, 2, 3) for bc in ("periodic", "no-flux", "dirichlet", "mixed")]


def _grid(d, bc, dirichlet=0.0):
    boundary = (["periodic", "no-flux", "dirichlet"] * 2)[:d] if bc == "mixed" else bc
    return FiniteVolumeGrid(
        SHAPES[d], LENGTHS[d], origin=-0.3, boundary=boundary, dirichlet=dirichlet
    )


def _random_faces(grid):
    J = [RNG.normal(size=grid.face_shape(a)) for a in range(grid.ndim)]
    # a flux through a no-flux face is zero by definition of the boundary
    for a, j in enumerate(J):
        if grid.boundary[a] == "no-flux":
            j[(slice(None),) * a + (0,)] = 0.0
            j[(slice(None),) * a + (-1,)] = 0.0
    return J


@pytest.mark.parametrize("d,bc", CASES)
def test_divergence_theorem_on_every_block(d, bc):
    """Σ_block (∇·J) dV = ∮_block J·n dA for random J and every box of cells (also for the
    Laplacian: J = ∇c), to round-off."""
    grid = _grid(d, bc, dirichlet=0.0 if bc == "periodic" else 0.4)
    J = _random_faces(grid)
    c = RNG.normal(size=grid.shape)
    divJ = np.asarray(grid.div(J))
    lap = np.asarray(grid.laplacian(c))
    gradc = [np.asarray(g) for g in grid.grad(c)]
    ranges = [[(lo, hi) for lo in range(n) for hi in range(lo + 1, n + 1)] for n in grid.shape]
    blocks = list(itertools.product(*ranges))
    idx = RNG.choice(len(blocks), size=min(len(blocks), 60), replace=False)
    for i in idx:
        block = blocks[i]
        sl = tuple(slice(lo, hi) for lo, hi in block)
        for field, flux in ((divJ, J), (lap, gradc)):
            inside = field[sl].sum() * grid.cell_volume
            through = _outflow(grid, flux, block)
            scale = np.abs(field).sum() * grid.cell_volume
            assert abs(inside - through) <= 1e-13 * scale, (block, inside, through)
    # the grid's own diagnostic agrees
    block = blocks[idx[0]]
    assert grid.net_outflow(J, block) == pytest.approx(_outflow(grid, J, block), abs=1e-12)


@pytest.mark.parametrize("d,bc", CASES)
def test_gradient_and_divergence_are_adjoint(d, bc):
    """⟨∇u, J⟩_faces = −⟨u, ∇·J⟩_cells with the face weights (u with zero Dirichlet data,
    J zero on no-flux faces), and Δ = div∘grad is symmetric and negative definite."""
    grid = _grid(d, bc)
    u, v = RNG.normal(size=grid.shape), RNG.normal(size=grid.shape)
    J = _random_faces(grid)
    lhs = sum(
        float(jnp.sum(grid.face_weights(a) * g * j))
        for a, (g, j) in enumerate(zip(grid.grad(u), J, strict=True))
    )
    rhs = -float(jnp.sum(u * grid.div(J))) * grid.cell_volume
    assert abs(lhs - rhs) <= 1e-13 * (abs(lhs) + abs(rhs) + 1)
    Lu, Lv = np.asarray(grid.laplacian(u)), np.asarray(grid.laplacian(v))
    assert np.sum(v * Lu) == pytest.approx(np.sum(u * Lv), rel=1e-13, abs=1e-11)
    assert np.sum(u * Lu) < 0 or all(b == "periodic" for b in grid.boundary)
    # the gradient energy ½Σ w|∇c|² has −Δ as its variation: ⟨−Δu, v⟩ dV = Σ w ∇u·∇v
    dirichlet_form = sum(
        float(jnp.sum(grid.face_weights(a) * gu * gv))
        for a, (gu, gv) in enumerate(zip(grid.grad(u), grid.grad(v), strict=True))
    )
    assert -np.sum(v * Lu) * grid.cell_volume == pytest.approx(dirichlet_form, rel=1e-12)


@pytest.mark.parametrize("d,bc", CASES)
def test_transform_diagonalises_the_laplacian(d, bc):
    """inverse(λ · forward(c)) = Δc (FFT / DCT-II / DST-II), the transform is orthogonal
    (Parseval) and inverts exactly."""
    grid = _grid(d, bc)
    c = RNG.normal(size=grid.shape)
    ch = grid.forward(c)
    np.testing.assert_allclose(grid.inverse(ch), c, atol=1e-14)
    np.testing.assert_allclose(
        grid.inverse(grid.laplacian_symbol * ch), grid.laplacian(c), atol=1e-11
    )
    assert float(grid.inner_hat(ch, ch)) == pytest.approx(
        np.sum(c * c) * grid.cell_volume, rel=1e-13
    )
    assert np.all(grid.laplacian_symbol <= 0)


def test_dirichlet_transform_is_scipys_dst2():
    grid = FiniteVolumeGrid((9,), (1.0,), boundary="dirichlet")
    c = RNG.normal(size=9)
    np.testing.assert_allclose(grid.forward(c), sfft.dst(c, type=2, norm="ortho"), atol=1e-14)
    grid = FiniteVolumeGrid((9,), (1.0,), boundary="no-flux")
    np.testing.assert_allclose(grid.forward(c), sfft.dct(c, type=2, norm="ortho"), atol=1e-14)


def test_dirichlet_values_enter_the_laplacian():
    """With boundary values g the Laplacian is affine: Δc = Δ₀c + Δ(0), and a linear profile
    between the two values is harmonic (its Laplacian vanishes to round-off)."""
    grid = FiniteVolumeGrid(
        (20, 3), (2.0, 1.0), boundary=["dirichlet", "periodic"], dirichlet=[(1.0, 3.0), (0.0, 0.0)]
    )
    x, _ = grid.coordinates()
    np.testing.assert_allclose(grid.laplacian(1.0 + x), 0.0, atol=1e-12)
    off = grid.laplacian_offset
    c = RNG.normal(size=grid.shape)
    homog = FiniteVolumeGrid((20, 3), (2.0, 1.0), boundary=["dirichlet", "periodic"])
    np.testing.assert_allclose(grid.laplacian(c), homog.laplacian(c) + off, atol=1e-12)


def test_spectral_derivatives_are_exact_on_trigonometric_polynomials():
    g = SpectralGrid((32, 24), (2 * np.pi, 4.0), origin=(0.5, -1.0))
    x, y = g.coordinates()
    k = 2 * np.pi / 4.0
    c = np.sin(3 * x) * np.cos(2 * k * y) + 0.2
    gx, gy = g.grad(c)
    np.testing.assert_allclose(gx, 3 * np.cos(3 * x) * np.cos(2 * k * y), atol=1e-12)
    np.testing.assert_allclose(gy, -2 * k * np.sin(3 * x) * np.sin(2 * k * y), atol=1e-12)
    np.testing.assert_allclose(g.laplacian(c), -(9 + 4 * k * k) * (c - 0.2), atol=1e-11)
    np.testing.assert_allclose(g.div((gx, gy)), g.laplacian(c), atol=1e-11)
    # ½∫|∇c|² by Parseval: ½(9 + 4k²)·∫sin²cos² = ½(9 + 4k²)·|Ω|/4
    assert float(g.gradient_energy(c)) == pytest.approx(
        0.5 * (9 + 4 * k * k) * g.volume / 4, rel=1e-13
    )
    # the spectral gradient and divergence are adjoint too (the Nyquist mode is dropped)
    u, J = RNG.normal(size=g.shape), [RNG.normal(size=g.shape) for _ in range(2)]
    lhs = sum(float(jnp.sum(a * b)) for a, b in zip(g.grad(u), J, strict=True))
    assert lhs == pytest.approx(-float(jnp.sum(u * g.div(J))), rel=1e-12)


def _outflow(grid, J, block):
    """∮ J·n dA over a block of cells, summed here face by face (independent of the grid)."""
    total = 0.0
    for a, j in enumerate(J):
        lo, hi = block[a]
        dA = grid.cell_volume / grid.spacing[a]
        for face, sign in ((lo, -1.0), (hi, 1.0)):
            f = face % grid.shape[a] if grid.boundary[a] == "periodic" else face
            sl = tuple(f if b == a else slice(*block[b]) for b in range(grid.ndim))
            total += sign * dA * np.asarray(j)[sl].sum()
    return total


def test_poisson_solution_is_second_order_with_every_boundary():
    """Solving Δu = f with the grid's transform converges at O(dx²) in the max norm (no-flux,
    Dirichlet with non-zero data, periodic), although the Dirichlet boundary cell's truncation
    error is O(1): the half-cell closure is supraconvergent."""
    exact = {
        "no-flux": (lambda x: np.cos(np.pi * x), 0.0),
        "dirichlet": (lambda x: np.sin(2.5 * x) + x, (0.0, np.sin(2.5) + 1.0)),
        "periodic": (lambda x: np.sin(2 * np.pi * x) + np.cos(4 * np.pi * x), 0.0),
    }
    lap = {
        "no-flux": lambda x: -(np.pi**2) * np.cos(np.pi * x),
        "dirichlet": lambda x: -6.25 * np.sin(2.5 * x),
        "periodic": lambda x: (
            -4 * np.pi**2 * np.sin(2 * np.pi * x) - 16 * np.pi**2 * np.cos(4 * np.pi * x)
        ),
    }
    for bc, (u, g) in exact.items():
        errs, ns = [], np.array([16, 32, 64])
        for n in ns:
            grid = FiniteVolumeGrid((n,), (1.0,), boundary=bc, dirichlet=g)
            (x,) = grid.coordinates()
            rhs = lap[bc](x) - (0.0 if grid.laplacian_offset is None else grid.laplacian_offset)
            lam = grid.laplacian_symbol
            uh = np.asarray(grid.forward(rhs))
            safe = np.where(lam == 0, 1.0, lam)
            uh = np.where(lam == 0, 0.0, uh / safe)
            num = np.asarray(grid.inverse(uh))
            ref = u(x)
            if bc != "dirichlet":  # defined up to a constant
                num, ref = num - num.mean(), ref - ref.mean()
            errs.append(np.max(np.abs(num - ref)))
        slope = np.polyfit(np.log(1.0 / ns), np.log(errs), 1)[0]
        assert 1.9 < slope < 2.2, (bc, slope, errs)


def test_flux_is_minus_mobility_times_gradient_on_faces():
    grid = FiniteVolumeGrid((8, 5), (1.0, 1.0), boundary=["no-flux", "periodic"])
    mu = RNG.normal(size=grid.shape)
    m = 1.0 + RNG.random(grid.shape)
    Jx, Jy = ops.flux(grid, mu, m)
    assert Jx.shape == (9, 5) and Jy.shape == (8, 5)
    dx = grid.spacing[0]
    np.testing.assert_allclose(
        Jx[1:-1], -0.5 * (m[1:] + m[:-1]) * np.diff(mu, axis=0) / dx, atol=1e-14
    )
    assert np.all(np.asarray(Jx)[[0, -1]] == 0)


def test_grid_input_errors_name_the_key():
    with pytest.raises(ScenarioError, match="field.shape"):
        FiniteVolumeGrid((4, 4, 4, 4), 1.0)
    with pytest.raises(ScenarioError, match="field.lengths"):
        SpectralGrid((8,), (-1.0,))
    with pytest.raises(ScenarioError, match="field.boundary"):
        FiniteVolumeGrid((8,), 1.0, boundary="robin")
    with pytest.raises(ScenarioError, match="spectral grid is periodic"):
        make_grid((8, 8), 1.0, discretisation="spectral", boundary="no-flux")
    with pytest.raises(ScenarioError, match="field.dirichlet"):
        FiniteVolumeGrid((8, 8), 1.0, boundary="dirichlet", dirichlet=[1.0, 2.0, 3.0])
    with pytest.raises(ScenarioError, match="grid's shape"):
        SpectralGrid((8, 8), 1.0).check_field(np.zeros((8, 9)))
