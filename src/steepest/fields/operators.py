"""Differential operators on grids, and flux fields J = −M∇μ.

The operators themselves live on the grids (``grid.grad``, ``grid.div``, ``grid.laplacian``);
this module adds what is built from them: mobilities on faces, flux fields, the divergence of a
flux, and the Scharfetter–Gummel and upwind fluxes of the Wasserstein flows.

On a finite-volume grid a flux lives on the faces, so ``div(flux(μ))`` sums to exactly the flux
through the boundary of any block of cells (the discrete divergence theorem): mass moves between
neighbours and is never made or lost inside.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, cast

import jax.numpy as jnp

from .grids import FiniteVolumeGrid, Grid, SpectralGrid


def grad(grid: Grid, c: Any) -> tuple[Any, ...]:
    """∇c (faces of a finite-volume grid, nodes of a spectral grid)."""
    return grid.grad(c)


def div(grid: Grid, J: Sequence[Any]) -> Any:
    """∇·J at the cells (nodes)."""
    return grid.div(J)


def laplacian(grid: Grid, c: Any) -> Any:
    """Δc = ∇·∇c."""
    return grid.laplacian(c)


def to_faces(grid: FiniteVolumeGrid, m: Any, axis: int) -> Any:
    """Cell values m averaged onto the faces of ``axis`` (arithmetic mean of the two cells; the
    boundary face takes its one cell's value)."""
    if grid.boundary[axis] == "periodic":
        return 0.5 * (m + jnp.roll(m, 1, axis=axis))
    inner = 0.5 * (
        jnp.take(m, jnp.arange(1, grid.shape[axis]), axis=axis)
        + jnp.take(m, jnp.arange(0, grid.shape[axis] - 1), axis=axis)
    )
    first = jnp.take(m, jnp.array([0]), axis=axis)
    last = jnp.take(m, jnp.array([grid.shape[axis] - 1]), axis=axis)
    return jnp.concatenate([first, inner, last], axis=axis)


def flux(grid: Grid, mu: Any, mobility: Any = 1.0, *, homogeneous: bool = True) -> tuple[Any, ...]:
    """J = −M∇μ: on the faces of a finite-volume grid (M averaged onto them), at the nodes of a
    spectral grid. ``mobility`` is a number or a field of M at the cells.

    With ``homogeneous`` (the default) a Dirichlet axis takes μ = 0 on its boundary faces: μ is a
    chemical potential, not the field the grid's Dirichlet data belong to.
    """
    if isinstance(grid, SpectralGrid):
        g = grid.grad(mu)
        return tuple(-mobility * gi for gi in g)
    fv = cast(FiniteVolumeGrid, grid)  # the other kind of grid
    out = []
    for a in range(fv.ndim):
        values = (0.0, 0.0) if homogeneous else None
        g = fv.grad_axis(mu, a, values)
        m = mobility if jnp.ndim(mobility) == 0 else to_faces(fv, mobility, a)
        out.append(-m * g)
    return tuple(out)


def bernoulli(x: Any) -> Any:
    """B(x) = x / (eˣ − 1), B(0) = 1 (the Scharfetter–Gummel weight), stable near 0."""
    small = jnp.abs(x) < 1e-6
    xs = jnp.where(small, 1.0, x)
    return jnp.where(small, 1.0 - 0.5 * x + x * x / 12.0, xs / jnp.expm1(xs))


def _shifted_pair(grid: FiniteVolumeGrid, f: Any, axis: int) -> tuple[Any, Any]:
    """(f on the low side, f on the high side) of every face of ``axis``; boundary faces of a
    bounded axis repeat their one cell (their flux is set to zero by the caller)."""
    if grid.boundary[axis] == "periodic":
        return jnp.roll(f, 1, axis=axis), f
    n = grid.shape[axis]
    first = jnp.take(f, jnp.array([0]), axis=axis)
    last = jnp.take(f, jnp.array([n - 1]), axis=axis)
    lo = jnp.concatenate([first, f], axis=axis)
    hi = jnp.concatenate([f, last], axis=axis)
    return lo, hi


def _zero_boundary(grid: FiniteVolumeGrid, J: Any, axis: int) -> Any:
    if grid.boundary[axis] == "periodic":
        return J
    n = grid.shape[axis] + 1
    mask = jnp.ones(n).at[0].set(0.0).at[-1].set(0.0)
    return J * jnp.reshape(mask, [-1 if b == axis else 1 for b in range(grid.ndim)])


def scharfetter_gummel_flux(
    grid: FiniteVolumeGrid, rho: Any, potential: Any, diffusion: float, mobility: float
) -> tuple[Any, ...]:
    """The Scharfetter–Gummel flux of ∂ρ/∂t = ∇·(D∇ρ + Mρ∇V), D = M·kT, zero through no-flux faces.

    J_{i+½} = (D/dx)[B(δ) ρ_i − B(−δ) ρ_{i+1}],   δ = M (V_{i+1} − V_i)/D,   B(x) = x/(eˣ − 1).

    Exact for a constant flux between two cells: the discrete equilibrium is ρ_i ∝ e^{−V_i/kT}
    (Boltzmann at the centres), and the flux is positive-preserving under the CFL bound of
    :func:`scharfetter_gummel_rate`.

    Reference: D. L. Scharfetter & H. K. Gummel, IEEE Trans. Electron Devices 16 (1969) 64.
    """
    out = []
    for a in range(grid.ndim):
        dx = grid.spacing[a]
        r_lo, r_hi = _shifted_pair(grid, rho, a)
        v_lo, v_hi = _shifted_pair(grid, potential, a)
        d = mobility * (v_hi - v_lo) / diffusion
        J = (diffusion / dx) * (bernoulli(d) * r_lo - bernoulli(-d) * r_hi)
        out.append(_zero_boundary(grid, J, a))
    return tuple(out)


def scharfetter_gummel_rate(
    grid: FiniteVolumeGrid, potential: Any, diffusion: float, mobility: float
) -> Any:
    """The outflow rate of every cell under the Scharfetter–Gummel flux (1/time): an explicit
    Euler step keeps ρ ≥ 0 when dt · rate ≤ 1 in every cell."""
    total = 0.0
    for a in range(grid.ndim):
        dx = grid.spacing[a]
        v_lo, v_hi = _shifted_pair(grid, potential, a)
        d = mobility * (v_hi - v_lo) / diffusion
        w_out_hi = _zero_boundary(grid, bernoulli(d), a)  # cell on the low side loses B(δ)ρ
        w_out_lo = _zero_boundary(grid, bernoulli(-d), a)  # cell on the high side loses B(−δ)ρ
        n = grid.shape[a]
        if grid.boundary[a] == "periodic":
            rate = w_out_lo + jnp.roll(w_out_hi, -1, axis=a)
        else:
            rate = jnp.take(w_out_lo, jnp.arange(n), axis=a) + jnp.take(
                w_out_hi, jnp.arange(1, n + 1), axis=a
            )
        total = total + diffusion / dx**2 * rate
    return total


def upwind_flux(grid: FiniteVolumeGrid, rho: Any, xi: Any, mobility: float) -> tuple[Any, ...]:
    """The first-order positivity-preserving upwind flux of ∂ρ/∂t = ∇·(Mρ∇ξ), ξ = δF/δρ:

    u_{i+½} = −M (ξ_{i+1} − ξ_i)/dx,   J_{i+½} = u⁺ ρ_i + u⁻ ρ_{i+1},

    which dissipates the discrete free energy exactly (dF/dt = −Σ dV u² ρ_upwind / M ≤ 0).

    Reference: J. A. Carrillo, A. Chertock & Y. Huang, Commun. Comput. Phys. 17 (2015) 233.
    """
    out = []
    for a in range(grid.ndim):
        dx = grid.spacing[a]
        r_lo, r_hi = _shifted_pair(grid, rho, a)
        x_lo, x_hi = _shifted_pair(grid, xi, a)
        u = -mobility * (x_hi - x_lo) / dx
        J = jnp.maximum(u, 0.0) * r_lo + jnp.minimum(u, 0.0) * r_hi
        out.append(_zero_boundary(grid, J, a))
    return tuple(out)


def upwind_rate(grid: FiniteVolumeGrid, xi: Any, mobility: float) -> Any:
    """The outflow rate of every cell under :func:`upwind_flux` (dt · rate ≤ 1 keeps ρ ≥ 0)."""
    total: Any = 0.0
    for a in range(grid.ndim):
        dx = grid.spacing[a]
        x_lo, x_hi = _shifted_pair(grid, xi, a)
        u = _zero_boundary(grid, -mobility * (x_hi - x_lo) / dx, a)
        n = grid.shape[a]
        out_hi = jnp.maximum(u, 0.0)  # through a face, from its low cell
        out_lo = -jnp.minimum(u, 0.0)  # through a face, from its high cell
        if grid.boundary[a] == "periodic":
            rate = out_lo + jnp.roll(out_hi, -1, axis=a)
        else:
            rate = jnp.take(out_lo, jnp.arange(n), axis=a) + jnp.take(
                out_hi, jnp.arange(1, n + 1), axis=a
            )
        total = total + rate / dx
    return total


def face_to_cells(grid: FiniteVolumeGrid, face_field: Sequence[Any]) -> Any:
    """A per-volume quantity on the faces (e.g. σ) shared out to the cells: each face gives half
    its weighted value to each of its cells, so Σ_cells (result · dV) = Σ_faces (σ_f · w_f)."""
    total = 0.0
    for a, s in enumerate(face_field):
        w = grid.face_weights(a) / grid.cell_volume
        sw = s * w
        n = grid.shape[a]
        if grid.boundary[a] == "periodic":
            cells = 0.5 * (sw + jnp.roll(sw, -1, axis=a))
        else:
            lo = jnp.take(sw, jnp.arange(n), axis=a)
            hi = jnp.take(sw, jnp.arange(1, n + 1), axis=a)
            # a boundary face has only one cell: it gives that cell all of its value
            first = jnp.zeros(n).at[0].set(1.0)
            last = jnp.zeros(n).at[-1].set(1.0)
            shp = [-1 if b == a else 1 for b in range(grid.ndim)]
            cells = (0.5 + 0.5 * first.reshape(shp)) * lo + (0.5 + 0.5 * last.reshape(shp)) * hi
        total = total + cells
    return total


def mobility_function(mobility: Any) -> tuple[Callable[[Any], Any] | None, float | None]:
    """(callable M(c) or None, constant M or None) from a number or a callable."""
    if callable(mobility):
        return mobility, None
    return None, float(mobility)
