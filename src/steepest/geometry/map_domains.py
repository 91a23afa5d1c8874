"""Domains of maps into S²: a square grid (periodic or Dirichlet) and a triangle mesh.

Both discretise the Dirichlet energy by P1 finite elements, E(u) = ½ Σ_edges w_ij |u_i − u_j|²,
with a lumped (diagonal) mass matrix M:

* grid with spacing h: the right-triangle P1 elements give w = 1 on the axis edges and 0 on the
  diagonals (the five-point Laplacian), M = h² I;
* mesh: the cotangent weights w_ij = ½(cot α_ij + cot β_ij) and the barycentric vertex areas.

``L`` is the Hessian of E (L_ii = Σ_j w_ij, L_ij = −w_ij), so u_t = −M⁻¹Lu is the heat flow.
Each domain also inverts the component-wise operator K = M + θτL cheaply: on a periodic grid by
the FFT (eigenvalues h² + θτ(4 sin²(πk/n) + 4 sin²(πl/m))), on a Dirichlet grid by the DST-I of
the interior nodes, on a mesh by its diagonal (Jacobi).

The energy-decrease proof of the tangent-plane scheme needs w_ij ≥ 0 (a weakly acute mesh:
projecting onto the sphere is then a contraction for E; Bartels, Math. Comp. 74 (2005)
1681–1700); both grids have it, and :class:`MapMesh` refuses a mesh without it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .._core.errors import ScenarioError

# -- the array kernels (pure functions of a domain's arrays, so jit caches by shape) -----------


def grid_laplacian(u: jax.Array, periodic: bool) -> jax.Array:
    """L u for the five-point stencil, component-wise; zero rows at Dirichlet boundary nodes."""
    if periodic:
        return (
            4 * u - jnp.roll(u, 1, 0) - jnp.roll(u, -1, 0) - jnp.roll(u, 1, 1) - jnp.roll(u, -1, 1)
        )
    inner = 4 * u[1:-1, 1:-1] - u[:-2, 1:-1] - u[2:, 1:-1] - u[1:-1, :-2] - u[1:-1, 2:]
    return jnp.zeros_like(u).at[1:-1, 1:-1].set(inner)


def grid_energy(u: jax.Array, periodic: bool) -> jax.Array:
    """½ Σ over the axis edges of |u_i − u_j|²."""
    if periodic:
        dx = u - jnp.roll(u, 1, 0)
        dy = u - jnp.roll(u, 1, 1)
    else:
        dx = u[1:] - u[:-1]
        dy = u[:, 1:] - u[:, :-1]
    return 0.5 * (jnp.sum(dx * dx) + jnp.sum(dy * dy))


def _dst1(x: jax.Array, axis: int) -> jax.Array:
    """DST-I, X_k = Σ_j x_j sin(πjk/(N+1)), by the FFT of the odd extension (length 2N + 2)."""
    x = jnp.moveaxis(x, axis, 0)
    z = jnp.zeros((1,) + x.shape[1:], x.dtype)
    y = jnp.concatenate([z, x, z, -x[::-1]], axis=0)
    X = -0.5 * jnp.fft.rfft(y, axis=0).imag[1 : x.shape[0] + 1]
    return jnp.moveaxis(X, 0, axis)


def grid_solve(r: jax.Array, denom: jax.Array, periodic: bool) -> jax.Array:
    """(h² + θτL)⁻¹ r component-wise, with ``denom`` its eigenvalues on the transform grid."""
    if periodic:
        R = jnp.fft.rfft2(r, axes=(0, 1))
        return jnp.fft.irfft2(R / denom[..., None], s=r.shape[:2], axes=(0, 1))
    inner = r[1:-1, 1:-1]
    n1, n2 = inner.shape[:2]
    X = _dst1(_dst1(inner, 0), 1) / denom[..., None]
    y = _dst1(_dst1(X, 0), 1) * (4.0 / ((n1 + 1) * (n2 + 1)))
    return jnp.zeros_like(r).at[1:-1, 1:-1].set(y)


def grid_symbol(shape: tuple[int, int], periodic: bool) -> np.ndarray:
    """Eigenvalues μ of the five-point L on the FFT (periodic) or DST-I (Dirichlet) grid."""
    n, m = shape
    if periodic:
        k = np.arange(n)[:, None]
        l_ = np.arange(m // 2 + 1)[None, :]
        return 4 * np.sin(np.pi * k / n) ** 2 + 4 * np.sin(np.pi * l_ / m) ** 2
    k = np.arange(1, n - 1)[:, None]
    l_ = np.arange(1, m - 1)[None, :]
    return 4 * np.sin(np.pi * k / (2 * (n - 1))) ** 2 + 4 * np.sin(np.pi * l_ / (2 * (m - 1))) ** 2


def mesh_laplacian(u: jax.Array, i: jax.Array, j: jax.Array, w: jax.Array) -> jax.Array:
    """L u = Σ_j w_ij (u_i − u_j) by two segment sums over the edges."""
    d = w[:, None] * (u[i] - u[j])
    n = u.shape[0]
    return jax.ops.segment_sum(d, i, n) - jax.ops.segment_sum(d, j, n)


def mesh_energy(u: jax.Array, i: jax.Array, j: jax.Array, w: jax.Array) -> jax.Array:
    d = u[i] - u[j]
    return 0.5 * jnp.sum(w * jnp.sum(d * d, axis=1))


# -- the domains -------------------------------------------------------------------------------


@dataclass(frozen=True)
class MapGrid:
    """A square grid of nodes with spacing ``h``: ``periodic`` or Dirichlet (boundary fixed).

    A Dirichlet grid of n × m nodes spans [0, (n−1)h] × [0, (m−1)h] and keeps its boundary
    nodes at the given data; a periodic grid of n × m nodes spans [0, nh) × [0, mh).
    """

    shape: tuple[int, int]
    h: float
    periodic: bool = False

    def __post_init__(self):
        n = self.shape
        if len(n) != 2 or min(n) < 3:
            raise ScenarioError(
                f"grid.shape: expected two numbers of nodes ≥ 3, got {n!r}.", key="grid.shape"
            )
        if not (np.isfinite(self.h) and self.h > 0):
            raise ScenarioError(
                f"grid.h: expected a positive spacing, got {self.h!r}.", key="grid.h"
            )

    @classmethod
    def square(cls, n: int, size: float = 1.0, *, periodic: bool = False, center: bool = True):
        """n × n nodes on a square of side ``size`` (centred on the origin when ``center``)."""
        h = size / n if periodic else size / (n - 1)
        return cls((n, n), h, periodic)

    def coordinates(self, center: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """Node coordinates X, Y of shape ``shape`` (x along the first axis)."""
        n, m = self.shape
        x = np.arange(n) * self.h
        y = np.arange(m) * self.h
        if center:
            x = x - (x[-1] + (self.h if self.periodic else 0)) / 2
            y = y - (y[-1] + (self.h if self.periodic else 0)) / 2
        return np.meshgrid(x, y, indexing="ij")

    @property
    def boundary(self) -> np.ndarray:
        """Boolean mask of the Dirichlet nodes (all False when periodic)."""
        b = np.zeros(self.shape, bool)
        if not self.periodic:
            b[0], b[-1], b[:, 0], b[:, -1] = True, True, True, True
        return b

    @property
    def node_area(self) -> float:
        return self.h**2

    @property
    def faces(self) -> None:
        return None


@dataclass(frozen=True, eq=False)
class MapMesh:
    """A triangle mesh as the domain: cotangent weights, barycentric masses, boundary fixed."""

    mesh: Any  # TriMesh
    weights: np.ndarray = field(init=False, repr=False)  # cotangent weight of each edge
    mass: np.ndarray = field(init=False, repr=False)  # barycentric vertex areas

    def __post_init__(self):
        from .cotan import edge_weights, vertex_areas
        from .meshes import TriMesh

        if not isinstance(self.mesh, TriMesh):
            raise ScenarioError(
                "mesh: expected a TriMesh (see steepest.geometry.meshes).", key="mesh"
            )
        w = edge_weights(self.mesh)
        scale = np.max(np.abs(w))
        if np.min(w) < -1e-12 * scale:
            e = int(np.argmin(w))
            raise ScenarioError(
                f"mesh: the cotangent weight of edge {self.mesh.edges[e].tolist()} is negative "
                f"({w[e]:.3g}), so projecting onto S² could raise the energy; the scheme's "
                "energy decrease needs a weakly acute (Delaunay) mesh — use meshes.disk or "
                "meshes.square_grid, or flip that edge.",
                key="mesh",
            )
        object.__setattr__(self, "weights", np.maximum(w, 0.0))
        object.__setattr__(self, "mass", vertex_areas(self.mesh))

    @property
    def shape(self) -> tuple[int]:
        return (self.mesh.n_vertices,)

    @property
    def boundary(self) -> np.ndarray:
        return self.mesh.boundary_vertices

    @property
    def faces(self) -> np.ndarray:
        return self.mesh.faces

    @property
    def periodic(self) -> bool:
        return False

    def diagonal(self) -> np.ndarray:
        """L_ii = Σ_j w_ij."""
        i, j = self.mesh.edges.T
        n = self.mesh.n_vertices
        return np.bincount(i, self.weights, n) + np.bincount(j, self.weights, n)
