"""Maps into the unit sphere S²: standard maps, their degree, and a unit-length check.

A map u: Ω → S² is sampled at nodes: an array ``(nx, ny, 3)`` on a grid, ``(V, 3)`` on a mesh.

* :func:`stereographic` — the inverse stereographic projection of x/λ, a conformal (hence
  harmonic) degree-one map of R² with Dirichlet energy ½∫|∇u|² = 4π R²/(λ² + R²) on the disk of
  radius R, tending to 4π (the area of S²) as R/λ → ∞.
* :func:`equivariant` — u = (sin h(r) cos θ, sin h(r) sin θ, cos h(r)), the corotational ansatz
  (Chang, Ding & Ye, J. Differential Geom. 36 (1992) 507–515).
* :func:`solid_angles` / :func:`degree` — each triangle (a, b, c) of the domain is sent to the
  geodesic triangle with signed solid angle Ω = 2 atan2(a·(b×c), 1 + a·b + b·c + c·a)
  (Van Oosterom & Strackee, IEEE Trans. Biomed. Eng. 30 (1983) 125); ΣΩ/4π is the degree, an
  integer for a periodic grid or a closed mesh, and the discrete version of (1/4π)∫u·(u_x × u_y).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._core.errors import ScenarioError

#: how far |u| may be from 1 before a map is refused (data written to 1e-12 or so passes)
UNIT_TOL = 1e-9


def check_unit(u: Any, *, key: str = "u0", boundary: Any = None) -> np.ndarray:
    """``u`` as float64 ``(..., 3)``, every value of unit length (else one clear sentence).

    Args:
        u: the map's values, last axis of length 3.
        key: the argument or scenario key named in the error.
        boundary: optional boolean mask (shape ``u.shape[:-1]``) of the Dirichlet nodes, so that
            bad boundary data is reported as such.
    """
    try:
        U = np.array(u, dtype=float)
    except (TypeError, ValueError):
        raise ScenarioError(f"{key}: expected an array of 3-vectors.", key=key) from None
    if U.ndim < 2 or U.shape[-1] != 3:
        raise ScenarioError(
            f"{key}: expected values in R³ (last axis of length 3), got shape {U.shape}.", key=key
        )
    if not np.all(np.isfinite(U)):
        raise ScenarioError(f"{key}: the map has non-finite values.", key=key)
    norm = np.linalg.norm(U, axis=-1)
    bad = np.abs(norm - 1) > UNIT_TOL
    if bad.any():
        idx = np.unravel_index(int(np.argmax(np.abs(norm - 1))), norm.shape)
        where = tuple(int(i) for i in idx)
        on_bnd = boundary is not None and bool(np.asarray(boundary)[idx])
        what = "the boundary data are" if on_bnd else "the map is"
        raise ScenarioError(
            f"{key}: {what} not of unit length (|u| = {norm[idx]:.6g} at node "
            f"{where[0] if len(where) == 1 else where}); a map into S² needs |u| = 1 at every "
            "node, so normalise it (u / |u|).",
            key=key,
        )
    return U / norm[..., None]  # exact to round-off


def stereographic(x: Any, y: Any, scale: float = 1.0) -> np.ndarray:
    """u(x, y) = (2λx, 2λy, r² − λ²)/(r² + λ²): the degree-one conformal map R² → S².

    It sends the origin to the south pole (0, 0, −1) and infinity to the north pole.
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    lam = float(scale)
    r2 = x**2 + y**2
    d = r2 + lam**2
    return np.stack([2 * lam * x / d, 2 * lam * y / d, (r2 - lam**2) / d], axis=-1)


def stereographic_energy_disk(radius: float, scale: float = 1.0) -> float:
    """½∫_{|x|<R} |∇u|² of :func:`stereographic`: 4π R²/(λ² + R²) (→ 4π as R → ∞)."""
    return 4 * np.pi * radius**2 / (scale**2 + radius**2)


def equivariant(x: Any, y: Any, h: Any) -> np.ndarray:
    """u = (sin h(r) cos θ, sin h(r) sin θ, cos h(r)) for a profile ``h`` (a function of r)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    r = np.hypot(x, y)
    th = np.arctan2(y, x)
    hr = np.asarray(h(r), dtype=float)
    return np.stack([np.sin(hr) * np.cos(th), np.sin(hr) * np.sin(th), np.cos(hr)], axis=-1)


def _omega(a, b, c):
    triple = np.einsum("...i,...i->...", a, np.cross(b, c))
    den = 1 + np.einsum("...i,...i->...", a, b)
    den = den + np.einsum("...i,...i->...", b, c) + np.einsum("...i,...i->...", c, a)
    return 2 * np.arctan2(triple, den)


def solid_angles(u: Any, faces: Any | None = None, *, periodic: bool = False) -> np.ndarray:
    """Signed solid angles of the image triangles: of ``faces`` (mesh) or of the grid's cells.

    A grid cell (i, j)–(i+1, j)–(i+1, j+1)–(i, j+1) is split into two triangles along its
    diagonal, counter-clockwise in (x, y) with x the first axis.
    """
    U = np.asarray(u, dtype=float)
    if faces is not None:
        F = np.asarray(faces)
        return _omega(U[F[:, 0]], U[F[:, 1]], U[F[:, 2]])
    if periodic:
        U = np.concatenate([U, U[:1]], axis=0)
        U = np.concatenate([U, U[:, :1]], axis=1)
    a, b = U[:-1, :-1], U[1:, :-1]
    c, d = U[1:, 1:], U[:-1, 1:]
    return np.stack([_omega(a, b, c), _omega(a, c, d)], axis=-1)


def degree(u: Any, faces: Any | None = None, *, periodic: bool = False) -> float:
    """ΣΩ/(4π): the degree of the map (an integer for periodic grids and closed meshes)."""
    return float(np.sum(solid_angles(u, faces, periodic=periodic)) / (4 * np.pi))
