"""The cotangent Laplacian, mass matrices and angle defects of a triangle mesh.

For piecewise-linear functions on a triangle mesh the Dirichlet energy is

    ½ ∫ |∇u|² = ½ Σ_edges w_ij (u_i − u_j)²,    w_ij = ½ (cot α_ij + cot β_ij),

with α_ij, β_ij the angles opposite the edge ij (Pinkall & Polthier, Experiment. Math. 2 (1993)
15–36). ``L`` below is its Hessian: positive semi-definite, L_ii = Σ_j w_ij, L_ij = −w_ij, so that
−M⁻¹L approximates the Laplace–Beltrami operator. Everything is computed from the edge lengths
alone (``intrinsic``), so the same code serves embedded meshes and the abstract metrics of the
discrete Ricci flow: cot α = (b² + c² − a²) / (4·area), area by Heron's formula.

Mass matrices: ``barycentric`` (a third of each incident triangle, as libigl's
MASSMATRIX_TYPE_BARYCENTRIC) or ``voronoi`` (Meyer, Desbrun, Schröder & Barr 2003, mixed areas).

Angle defects K_i = 2π − Σ θ_i (interior) and π − Σ θ_i (boundary) satisfy the discrete
Gauss–Bonnet theorem Σ K_i = 2πχ exactly (each triangle's angles sum to π).

Sparse matrices are scipy.sparse CSR; :class:`CotanAssembler` keeps the sparsity pattern of a
mesh so that a flow that re-assembles L every step only recomputes the values.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from .._core.errors import ScenarioError
from .meshes import TriMesh, face_edge_lengths


def _as_lengths(mesh: TriMesh, lengths: Any | None) -> np.ndarray:
    if lengths is None:
        return face_edge_lengths(mesh.vertices, mesh.faces)
    ell = np.asarray(lengths, dtype=float)
    if ell.shape != mesh.faces.shape:
        raise ScenarioError(
            f"lengths: expected one length per face corner, shape {mesh.faces.shape}, got "
            f"{ell.shape}.",
            key="lengths",
        )
    return ell


def heron_area(ell: np.ndarray) -> np.ndarray:
    """Triangle areas from side lengths ``(F, 3)`` by Kahan's stable form of Heron's formula.

    Returns NaN where the lengths violate the triangle inequality.
    """
    s = -np.sort(-ell, axis=1)  # a ≥ b ≥ c
    a, b, c = s[:, 0], s[:, 1], s[:, 2]
    q = (a + (b + c)) * (c - (a - b)) * (c + (a - b)) * (a + (b - c))
    with np.errstate(invalid="ignore"):
        return 0.25 * np.sqrt(np.where(q >= 0, q, np.nan))


def cotangents(mesh: TriMesh, lengths: Any | None = None) -> np.ndarray:
    """``(F, 3)``: cot of the angle at corner k of each face."""
    ell = _as_lengths(mesh, lengths)
    l2 = ell**2
    area = heron_area(ell)
    return (np.roll(l2, -1, axis=1) + np.roll(l2, 1, axis=1) - l2) / (4 * area[:, None])


def corner_angles(mesh: TriMesh, lengths: Any | None = None) -> np.ndarray:
    """``(F, 3)``: the angle at corner k, θ = atan2(4·area, b² + c² − a²).

    The atan2 form (with Kahan's Heron area) stays accurate for needle triangles, where the
    arccos of the law of cosines loses half the digits.
    """
    if lengths is None:  # embedded: from the edge vectors, accurate even for slivers
        P = mesh.vertices[mesh.faces]
        e1 = np.roll(P, -1, axis=1) - P
        e2 = np.roll(P, 1, axis=1) - P
        cross = np.linalg.norm(np.cross(e1, e2), axis=2)
        return np.arctan2(cross, np.einsum("fki,fki->fk", e1, e2))
    ell = _as_lengths(mesh, lengths)
    l2 = ell**2
    area = heron_area(ell)
    return np.arctan2(4 * area[:, None], np.roll(l2, -1, axis=1) + np.roll(l2, 1, axis=1) - l2)


def edge_weights(mesh: TriMesh, lengths: Any | None = None) -> np.ndarray:
    """w_e = ½ Σ cot(opposite angles) for each edge of ``mesh.edges``."""
    cot = cotangents(mesh, lengths)
    return 0.5 * np.bincount(
        mesh.face_edges.ravel(), weights=cot.ravel(), minlength=len(mesh.edges)
    )


def laplacian(mesh: TriMesh, lengths: Any | None = None) -> sp.csr_matrix:
    """The cotangent Laplacian L (positive semi-definite, rows sum to zero)."""
    return CotanAssembler(mesh).laplacian(cotangents(mesh, lengths))


def vertex_areas(mesh: TriMesh, lengths: Any | None = None, kind: str = "barycentric"):
    """Lumped vertex areas (the diagonal of the mass matrix)."""
    ell = _as_lengths(mesh, lengths)
    area = heron_area(ell)
    F = mesh.faces
    n = len(mesh.vertices)
    if kind == "barycentric":
        return np.bincount(F.ravel(), weights=np.repeat(area / 3, 3), minlength=n)
    if kind == "voronoi":
        cot = cotangents(mesh, ell)
        l2 = ell**2
        # Voronoi share of corner k: (|e_{k+1}|² cot_{k+1} + |e_{k+2}|² cot_{k+2}) / 8
        share = np.roll(l2, -1, 1) * np.roll(cot, -1, 1) + np.roll(l2, 1, 1) * np.roll(cot, 1, 1)
        share = share / 8
        ang = corner_angles(mesh, ell)
        obtuse = ang > np.pi / 2
        any_obtuse = obtuse.any(axis=1, keepdims=True)
        mixed = np.where(any_obtuse, np.where(obtuse, area[:, None] / 2, area[:, None] / 4), share)
        return np.bincount(F.ravel(), weights=mixed.ravel(), minlength=n)
    raise ScenarioError(
        f"mass: unknown mass matrix {kind!r}; use 'barycentric' or 'voronoi'.", key="mass"
    )


def mass_matrix(mesh: TriMesh, lengths: Any | None = None, kind: str = "barycentric"):
    """The lumped mass matrix as a sparse diagonal matrix."""
    return sp.diags(vertex_areas(mesh, lengths, kind)).tocsr()


def angle_sums(mesh: TriMesh, lengths: Any | None = None) -> np.ndarray:
    """Σ θ_i: the sum of the corner angles at each vertex."""
    ang = corner_angles(mesh, lengths)
    return np.bincount(mesh.faces.ravel(), weights=ang.ravel(), minlength=len(mesh.vertices))


def angle_defects(mesh: TriMesh, lengths: Any | None = None) -> np.ndarray:
    """Discrete Gaussian curvature K_i = 2π − Σθ_i (interior), π − Σθ_i (boundary)."""
    full = np.where(mesh.boundary_vertices, np.pi, 2 * np.pi)
    return full - angle_sums(mesh, lengths)


class CotanAssembler:
    """The CSR pattern of a mesh's Laplacian, kept so that re-assembly only fills values.

    ``laplacian(cot)`` scatters the 12 contributions of each face into the fixed pattern with one
    ``np.bincount`` — no COO sort per step, which is what a flow re-assembling L each step needs.
    """

    def __init__(self, mesh: TriMesh):
        F = mesh.faces
        n = len(mesh.vertices)
        i = np.concatenate([F[:, 1], F[:, 2], F[:, 0]])  # corner k's opposite edge (k+1, k+2)
        j = np.concatenate([F[:, 2], F[:, 0], F[:, 1]])
        rows = np.concatenate([i, j, i, j])
        cols = np.concatenate([j, i, i, j])
        pattern = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n))
        pattern.sum_duplicates()
        pattern.sort_indices()
        self.indptr, self.indices = pattern.indptr, pattern.indices
        self.shape = (n, n)
        # slot of each COO entry in the CSR data array
        order = np.lexsort((cols, rows))
        key_sorted = rows[order] * n + cols[order]
        csr_keys = np.repeat(np.arange(n), np.diff(self.indptr)) * n + self.indices
        slot_sorted = np.searchsorted(csr_keys, key_sorted)
        self.slot = np.empty_like(slot_sorted)
        self.slot[order] = slot_sorted
        self.nnz = len(self.indices)

    def laplacian(self, cot: np.ndarray) -> sp.csr_matrix:
        """L from per-corner cotangents ``(F, 3)``: the weight ½cot lands on the opposite edge."""
        w = 0.5 * np.concatenate([cot[:, 0], cot[:, 1], cot[:, 2]])
        data = np.bincount(self.slot, weights=np.concatenate([-w, -w, w, w]), minlength=self.nnz)
        return sp.csr_matrix((data, self.indices, self.indptr), shape=self.shape)
