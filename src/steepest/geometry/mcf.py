"""Mean curvature flow of closed triangle surfaces: the L²-gradient flow of area.

The first variation of area is δA = ∫ H ν·δX dA, so the steepest descent of A in L²(Γ) is
X_t = ΔΓ X = −H ν (H the sum of principal curvatures): a round sphere shrinks as
r² = r0² − 4t and disappears at r0²/4.

Scheme (Dziuk, Numer. Math. 58 (1991) 603–611; Desbrun, Meyer, Schröder & Barr, SIGGRAPH 1999):
the linearly implicit step with the cotangent Laplacian and mass matrix of the current surface,

    (Mᵐ + τ Lᵐ) Xᵐ⁺¹ = Mᵐ Xᵐ.

Area decreases at every step, for every τ: testing with Xᵐ⁺¹ − Xᵐ and using
∫_Γᵐ ∇Xᵐ⁺¹·∇(Xᵐ⁺¹ − Xᵐ) ≥ |Γᵐ⁺¹| − |Γᵐ| (Barrett, Garcke & Nürnberg, J. Comput. Phys. 227
(2008) 4281–4307, Lemma 2.1) gives |Γᵐ⁺¹| + τ⁻¹‖Xᵐ⁺¹ − Xᵐ‖²_M ≤ |Γᵐ|.

Conformalised mean curvature flow (Kazhdan, Solomon & Ben-Chen, Comput. Graph. Forum 31 (2012)
1745–1754) keeps the stiffness of the initial surface, (Mᵐ + τ L⁰) Xᵐ⁺¹ = Mᵐ Xᵐ, and re-centres
and re-scales to the initial area after each step. It is the gradient flow of the Dirichlet
energy E_D(X) = ½ tr(Xᵀ L⁰ X) of the embedding measured in the initial metric; E_D ≥ area with
equality for conformal maps, and on genus-0 surfaces the flow converges to a conformal map onto
a round sphere without the neck pinches of plain MCF.

The linear solves are scipy.sparse (conjugate gradients with a Jacobi preconditioner warm
started from Xᵐ, or a sparse LU): the matrix changes every step, the solves dominate, and on a
CPU scipy's compiled sparse kernels beat a JAX scatter-based operator, so this loop stays in
Python around them.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from .._core.errors import FlowDiverged, ScenarioError
from .cotan import CotanAssembler, cotangents, vertex_areas
from .meshes import TriMesh, face_areas
from .record import ROUND_OFF, GeometricSolution, non_increasing


def implicit_solve(
    A: sp.csr_matrix, B: np.ndarray, X0: np.ndarray, solver: str, rtol: float
) -> tuple[np.ndarray, dict[str, Any]]:
    """Solve the SPD system A X = B for the 3 columns of B; returns X and solver figures.

    ``"cg"``: block Jacobi-preconditioned conjugate gradients, the three coordinates iterated
    together (one sparse product with a 3-column block per iteration, which costs little more
    than one with a vector), warm started from X0; a stalled solve falls back to sparse LU.
    """
    if solver == "direct":
        lu = spla.splu(A.tocsc())
        return lu.solve(B), {"iterations": 0}
    dinv = 1 / A.diagonal()[:, None]
    X = X0.copy()
    R = B - A @ X
    Z = dinv * R
    P = Z.copy()
    rz = np.einsum("ij,ij->j", R, Z)
    target = rtol * np.linalg.norm(B, axis=0)
    for its in range(1, 10 * len(B) + 1):
        AP = A @ P
        pAp = np.einsum("ij,ij->j", P, AP)
        alpha = np.divide(rz, pAp, out=np.zeros_like(rz), where=pAp > 0)
        X += alpha * P
        R -= alpha * AP
        if np.all(np.linalg.norm(R, axis=0) <= target):
            return X, {"iterations": its}
        Z = dinv * R
        rz_new = np.einsum("ij,ij->j", R, Z)
        beta = np.divide(rz_new, rz, out=np.zeros_like(rz), where=rz > 0)
        P = Z + beta * P
        rz = rz_new
    lu = spla.splu(A.tocsc())  # never an inexact step: fall back to the direct solve
    return lu.solve(B), {"iterations": its, "fallback": True}


def mean_curvature_flow(
    mesh: TriMesh,
    *,
    t1: float | None = None,
    step: float | None = None,
    n_save: int = 20,
    conformal: bool = False,
    mass: str = "barycentric",
    solver: str = "cg",
    rtol: float = 1e-10,
    stop_area: float = 0.05,
    keep_frames: bool = True,
) -> GeometricSolution:
    """Mean curvature flow (or conformalised MCF) of a closed, oriented triangle surface.

    Args:
        mesh: a closed :class:`TriMesh`.
        t1: end time; default A(0)/(16π), the extinction time of a round sphere of that area.
        step: time step τ (default t1/200); the scheme is stable for every τ.
        n_save: number of saved frames (equally spaced in steps).
        conformal: conformalised MCF (stiffness of the initial surface, area re-normalised).
        mass: ``"barycentric"`` or ``"voronoi"`` lumped mass matrix.
        solver: ``"cg"`` (Jacobi-preconditioned conjugate gradients warm started from Xᵐ,
            falling back to LU if it stalls) or ``"direct"`` (sparse LU).
        rtol: relative residual of the conjugate-gradient solves.
        stop_area: plain MCF stops once the area falls below this fraction of A(0).
        keep_frames: keep the vertex positions of the saved frames.

    Returns:
        a :class:`GeometricSolution` with energy = area (MCF) or, for cMCF, the Dirichlet
        energy E_D(Xᵏ)/S² of the unnormalised flow (S the product of the re-scalings), and
        diagnostics: area, volume, mean radius, sphericity (std/mean of |x − centroid|), and the
        sum of angle defects (2πχ).

    Raises:
        ScenarioError: an open mesh or bad settings. FlowDiverged: a non-finite step, or an area
        (MCF) / Dirichlet energy (cMCF) that rose beyond round-off.
    """
    if not isinstance(mesh, TriMesh):
        raise ScenarioError("mesh: expected a TriMesh (see steepest.geometry.meshes).", key="mesh")
    if not mesh.is_closed:
        raise ScenarioError(
            "mesh: mean curvature flow here is for closed surfaces; this mesh has "
            f"{len(mesh.boundary_loops)} boundary loop(s).",
            key="mesh",
        )
    if solver not in ("cg", "direct"):
        raise ScenarioError(
            f"solver: unknown solver {solver!r}; use 'cg' or 'direct'.", key="solver"
        )
    A0 = mesh.area
    t1 = A0 / (16 * np.pi) if t1 is None else _positive(t1, "t1")
    step = t1 / 200 if step is None else _positive(step, "step")
    n_steps = max(1, int(np.ceil(t1 / step - 1e-9)))
    step = t1 / n_steps  # land exactly on t1
    save_at = set(np.unique(np.linspace(0, n_steps, n_save + 1).round().astype(int)).tolist())
    F = mesh.faces
    asm = CotanAssembler(mesh)
    X = mesh.vertices.copy()
    L0 = asm.laplacian(cotangents(mesh)) if conformal else None
    chi = mesh.euler_characteristic

    def measures(X):
        m = mesh.with_vertices(X)
        area = face_areas(X, F)
        c = (area[:, None] * X[F].mean(axis=1)).sum(0) / area.sum()
        r = np.linalg.norm(X - c, axis=1)
        rec = {
            "area": float(area.sum()),
            "volume": m.volume,
            "mean_radius": float(r.mean()),
            "sphericity": float(r.std() / r.mean()),
        }
        if conformal:
            # E_D(X) ≥ area(X) face by face (AM–GM on the singular values of the P1 map), with
            # equality only where the map from the initial surface is conformal
            rec["conformal_distortion"] = dirichlet(X) / rec["area"] - 1
        return rec

    def dirichlet(X):
        return 0.5 * float(np.einsum("ij,ij->", X, L0 @ X))

    frames, times, records = [], [], []
    stats: dict[str, Any] = {"solve_time_s": 0.0, "assembly_time_s": 0.0, "iterations": 0}
    status, message = "done", f"reached t1 = {t1:g}"
    energy_steps_ok = True

    # cMCF re-scales by s each step; Xᵏ/S (S = Π s) is the unnormalised flow, run with steps
    # τ/S², whose Dirichlet energy E_D(Xᵏ)/S² the implicit step provably lowers
    scale2 = [1.0]

    def save(k, X):
        rec = measures(X)
        rec["energy"] = dirichlet(X) / scale2[0] if conformal else rec["area"]
        times.append(k * step)
        records.append(rec)
        if keep_frames:
            frames.append(X.copy())

    save(0, X)
    t_wall = time.perf_counter()
    # the CSR slots of the diagonal, so that M + τL is filled in place each step
    diag_slot = _diagonal_slots(asm)
    geo = _face_geometry(X, F)
    for k in range(1, n_steps + 1):
        t0 = time.perf_counter()
        cot, dbl, normals = geo
        if mass == "barycentric":
            Mv = np.bincount(F.ravel(), np.repeat(dbl / 6, 3), len(X))
        else:
            Mv = vertex_areas(mesh.with_vertices(X), kind=mass)
        data = step * (asm.laplacian(cot).data if L0 is None else L0.data)
        data[diag_slot] += Mv
        A = sp.csr_matrix((data, asm.indices, asm.indptr), shape=asm.shape)
        t_asm = time.perf_counter()
        X_new, info = implicit_solve(A, Mv[:, None] * X, X, solver, rtol)
        stats["assembly_time_s"] += t_asm - t0
        stats["solve_time_s"] += time.perf_counter() - t_asm
        stats["iterations"] += info["iterations"]
        if not np.all(np.isfinite(X_new)):
            status, message = "non-finite", f"the step to t = {k * step:.6g} was not finite"
            break
        area_old = 0.5 * dbl.sum()
        if conformal:
            energy_steps_ok &= dirichlet(X_new) <= dirichlet(X) * (1 + ROUND_OFF)
            area_new = face_areas(X_new, F)
            c = (area_new[:, None] * X_new[F].mean(axis=1)).sum(0) / area_new.sum()
            s2 = A0 / area_new.sum()
            X_new = (X_new - c) * np.sqrt(s2)
            scale2[0] *= s2
        geo_new = _face_geometry(X_new, F)
        area_new = 0.5 * geo_new[1].sum()
        if not conformal and area_new > area_old * (1 + ROUND_OFF):
            energy_steps_ok = False
        flipped = np.einsum("ij,ij->i", geo_new[2], normals) <= 0
        if flipped.any() or np.min(geo_new[1]) <= 2e-14 * A0:
            status = "singular"
            message = (
                f"stopped at t = {(k - 1) * step:.6g}: {int(flipped.sum())} triangle(s) would "
                "flip or collapse in the next step (a singularity, e.g. a neck pinch, is near)"
            )
            if (k - 1) not in save_at:
                save(k - 1, X)
            break
        X, geo = X_new, geo_new
        if k in save_at:
            save(k, X)
        if not conformal and records and area_new < stop_area * A0:
            if k not in save_at:
                save(k, X)
            status = "stopped-before-extinction"
            message = (
                f"stopped at t = {k * step:.6g} with area below {stop_area:g}·A(0), before "
                f"extinction"
            )
            break
    stats["wall_time_s"] = time.perf_counter() - t_wall
    stats["steps"] = k
    stats["solver"] = solver
    stats["vertices"] = mesh.n_vertices
    t = np.array(times)
    energy = np.array([r["energy"] for r in records])
    diagnostics = {name: np.array([r[name] for r in records]) for name in records[0]}
    del diagnostics["energy"]
    diagnostics["gauss_bonnet_error"] = np.full(len(t), 0.0)  # Σ angle defects − 2πχ, below
    if keep_frames:
        from .cotan import angle_defects

        diagnostics["gauss_bonnet_error"] = np.array(
            [angle_defects(mesh.with_vertices(x)).sum() - 2 * np.pi * chi for x in frames]
        )
    checks = {
        ("dirichlet_energy_non_increasing_each_step" if conformal else "area_non_increasing"): (
            bool(energy_steps_ok) and (conformal or non_increasing(diagnostics["area"]))
        ),
        "gauss_bonnet": bool(np.all(np.abs(diagnostics["gauss_bonnet_error"]) < 1e-8)),
        "energy_non_increasing_at_saves": non_increasing(energy),
    }
    if conformal:
        checks["area_normalised"] = bool(np.allclose(diagnostics["area"], A0, rtol=1e-9))
    sol = GeometricSolution(
        flow="conformal-mean-curvature" if conformal else "mean-curvature",
        energy_name="dirichlet energy (unnormalised flow)" if conformal else "area",
        t=t,
        energy=energy,
        frames=np.array(frames) if keep_frames else None,
        diagnostics=diagnostics,
        status=status,
        message=message,
        checks=checks,
        stats=stats,
        settings=dict(t1=t1, step=step, n_save=n_save, conformal=conformal, mass=mass, rtol=rtol),
        final=mesh.with_vertices(X),
        extra={"faces": F},
    )
    if status == "non-finite" or not energy_steps_ok:
        raise FlowDiverged(
            f"mean curvature flow: {message if status == 'non-finite' else 'the energy rose'}; "
            "the implicit step is stable for every τ, so check the mesh for near-degenerate "
            "triangles or tighten rtol.",
            x=X,
            t=float(t[-1]),
            step=k,
            reason="non-finite" if status == "non-finite" else "energy-increase",
            solution=sol,
        )
    return sol


def _face_geometry(X: np.ndarray, F: np.ndarray):
    """(cot of each corner, twice each face's area, face normals) from one gather of X[F].

    cot θ_k = (a·b)/|a × b| with a, b the edges leaving corner k; |a × b| is twice the area
    for every corner, so one cross product serves the cotangents, the masses and the normals.
    """
    P = X[F]
    e01, e02, e12 = P[:, 1] - P[:, 0], P[:, 2] - P[:, 0], P[:, 2] - P[:, 1]
    n = np.cross(e01, e02)
    dbl = np.sqrt(np.einsum("ij,ij->i", n, n))
    dots = np.stack(
        [
            np.einsum("ij,ij->i", e01, e02),
            -np.einsum("ij,ij->i", e01, e12),
            np.einsum("ij,ij->i", e02, e12),
        ],
        axis=1,
    )
    return dots / dbl[:, None], dbl, n


def _diagonal_slots(asm: CotanAssembler) -> np.ndarray:
    """Index into the CSR data of each row's diagonal entry (every vertex has one)."""
    rows = np.repeat(np.arange(asm.shape[0]), np.diff(asm.indptr))
    slots = np.nonzero(asm.indices == rows)[0]
    assert len(slots) == asm.shape[0]
    return slots


def _positive(v: Any, key: str) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not np.isfinite(v) or v <= 0:
        raise ScenarioError(f"{key}: expected a positive number, got {v!r}.", key=key)
    return float(v)
