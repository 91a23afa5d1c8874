"""Harmonic map heat flow u: Ω → S²: the L²-gradient flow of E(u) = ½∫|∇u|² on the sphere.

Constrained to |u| = 1, the steepest descent of E moves u in its tangent plane:
u_t = Δu + |∇u|² u = −P_u(δE/δu). Scheme: the tangent-plane method of Alouges (SIAM J. Numer.
Anal. 34 (1997) 1708–1726), in the θ-form of Bartels (Math. Comp. 74 (2005) 1681–1700; and
*Numerical Methods for Nonlinear PDEs*, Springer 2015, §7.3). Given uⁿ with |uⁿ_i| = 1, find v
with v_i·uⁿ_i = 0 at every node (and v = 0 on Dirichlet nodes) such that

    (v, w)_M + θτ a(v, w) = −a(uⁿ, w)     for every tangent w,         a(u, w) = uᵀLw,

then set uⁿ⁺¹_i = (uⁿ_i + τv_i)/|uⁿ_i + τv_i|. Energy decrease, for every τ when θ ≥ ½:
testing with w = v gives E(uⁿ + τv) = E(uⁿ) − τ‖v‖²_M − (θ − ½)τ² a(v, v), and because
|uⁿ_i + τv_i| ≥ 1 (v ⊥ uⁿ), projecting back onto S² does not raise E on a weakly acute mesh
(all w_ij ≥ 0). Hence

    E(uⁿ⁺¹) + τ‖v‖²_M ≤ E(uⁿ),      |uⁿ⁺¹_i| = 1 to round-off,

checked at every step here (``max_energy_rise``, ``max_dissipation_defect``). The linear system is
solved by PCG on the tangent space (:mod:`._tangent_pcg`), preconditioned by FFT/DST on a grid and
by the diagonal on a mesh. The whole run is one compiled loop (``lax.scan`` over saves, a
``lax.while_loop`` of steps, PCG inside).
"""

from __future__ import annotations

import time
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .._core.errors import FlowDiverged, ScenarioError
from ._tangent_pcg import project, tangent_pcg
from .map_domains import (
    MapGrid,
    MapMesh,
    grid_energy,
    grid_laplacian,
    grid_solve,
    grid_symbol,
    mesh_energy,
    mesh_laplacian,
)
from .record import GeometricSolution, non_increasing
from .sphere_maps import check_unit, degree

_RUNNING, _CONVERGED, _NONFINITE, _INCREASE, _MAX_STEPS = 0, 1, 2, 3, 4


def _ops(kind: str, periodic: bool, arrays: dict[str, jax.Array], theta, tau):
    """(apply_K, solve_K, apply_L, energy, mass) for a domain, at step τ."""
    if kind == "grid":
        h2 = arrays["h2"]

        def apply_L(u):
            return grid_laplacian(u, periodic)

        def energy(u):
            return grid_energy(u, periodic)

        denom = h2 + theta * tau * arrays["symbol"]

        def solve_K(r):
            return grid_solve(r, denom, periodic)

        mass = h2
    else:
        i, j, w = arrays["i"], arrays["j"], arrays["w"]

        def apply_L(u):
            return mesh_laplacian(u, i, j, w)

        def energy(u):
            return mesh_energy(u, i, j, w)

        mass = arrays["mass"][:, None]
        diag = mass + theta * tau * arrays["diag"][:, None]

        def solve_K(r):
            return r / diag

    def apply_K(v):
        return mass * v + theta * tau * apply_L(v)

    return apply_K, solve_K, apply_L, energy, mass


@partial(jax.jit, static_argnames=("kind", "periodic"))
def _run(u0, arrays, save_times, step, theta, cg_rtol, max_cg, v_tol, max_steps, *, kind, periodic):
    free = arrays["free"]
    _, _, apply_L0, energy0, mass0 = _ops(kind, periodic, arrays, theta, step)
    E0 = energy0(u0)
    escale = jnp.maximum(E0, 1e-300)

    def one_step(u, v_prev, tau):
        apply_K, solve_K, apply_L, energy, mass = _ops(kind, periodic, arrays, theta, tau)
        b = -free * project(u, apply_L(u))
        v, its, res = tangent_pcg(apply_K, solve_K, u, free, b, v_prev, cg_rtol, max_cg)
        w = u + tau * v
        # Dirichlet nodes keep their data bit for bit (v = 0 there, but w/|w| would round)
        u_new = jnp.where(free > 0, w / jnp.linalg.norm(w, axis=-1, keepdims=True), u)
        vnorm2 = jnp.sum(mass * v * v)
        return u_new, v, its, res, vnorm2

    def advance(state, t_save):
        def cond(s):
            return (s["status"] == _RUNNING) & (s["t"] < t_save)

        def body(s):
            tau = step
            last = t_save - s["t"] <= 1.01 * tau
            tau = jnp.where(last, t_save - s["t"], tau)
            u_new, v, its, res, vnorm2 = one_step(s["u"], s["v"], tau)
            E_new = energy0(u_new)
            finite = jnp.isfinite(E_new) & jnp.all(jnp.isfinite(u_new))
            rise = (E_new - s["E"]) / escale
            defect = (E_new - s["E"] + tau * vnorm2) / escale
            vnorm = jnp.sqrt(vnorm2)
            status = jnp.select(
                [~finite, rise > 1e-10, vnorm < v_tol, s["n"] + 1 >= max_steps],
                [jnp.int32(c) for c in (_NONFINITE, _INCREASE, _CONVERGED, _MAX_STEPS)],
                jnp.int32(_RUNNING),
            )
            keep = finite
            return {
                "u": jnp.where(keep, u_new, s["u"]),
                "v": jnp.where(keep, v, s["v"]),
                "t": jnp.where(keep, jnp.where(last, t_save, s["t"] + tau), s["t"]),
                "E": jnp.where(keep, E_new, s["E"]),
                "n": s["n"] + 1,
                "cg": s["cg"] + its,
                "cg_max": jnp.maximum(s["cg_max"], its),
                "res": jnp.maximum(s["res"], res),
                "rise": jnp.maximum(s["rise"], jnp.where(finite, rise, jnp.inf)),
                "defect": jnp.maximum(s["defect"], jnp.where(finite, defect, jnp.inf)),
                "vnorm": vnorm,
                "status": status,
            }

        state = jax.lax.while_loop(cond, body, state)
        unit = jnp.max(jnp.abs(jnp.linalg.norm(state["u"], axis=-1) - 1))
        out = {k: state[k] for k in ("u", "t", "E", "n", "cg", "vnorm", "status")}
        out["unit"] = unit
        return state, out

    zero = jnp.zeros((), u0.dtype)
    init = {
        "u": u0,
        "v": jnp.zeros_like(u0),
        "t": zero,
        "E": E0,
        "n": jnp.zeros((), jnp.int32),
        "cg": jnp.zeros((), jnp.int32),
        "cg_max": jnp.zeros((), jnp.int32),
        "res": zero,
        "rise": jnp.asarray(-jnp.inf, u0.dtype),
        "defect": jnp.asarray(-jnp.inf, u0.dtype),
        "vnorm": jnp.asarray(jnp.inf, u0.dtype),
        "status": jnp.zeros((), jnp.int32),
    }
    del apply_L0, mass0
    final, out = jax.lax.scan(advance, init, save_times)
    worst = {k: final[k] for k in ("cg_max", "res", "rise", "defect")}
    return out, worst, E0


def harmonic_map_flow(
    u0: Any,
    domain: MapGrid | MapMesh | Any,
    *,
    t1: float,
    step: float | None = None,
    theta: float = 1.0,
    n_save: int = 20,
    tol: float | None = None,
    cg_rtol: float = 1e-10,
    max_cg: int = 500,
    max_steps: int = 10_000_000,
    keep_frames: bool = True,
) -> GeometricSolution:
    """Harmonic map heat flow into S² by the tangent-plane scheme (energy decreasing, |u| = 1).

    Args:
        u0: the initial map, ``(nx, ny, 3)`` on a grid or ``(V, 3)`` on a mesh, of unit length
            at every node. On Dirichlet nodes (a non-periodic grid's edge, a mesh's boundary) it
            is the boundary data and stays fixed.
        domain: a :class:`MapGrid` (``MapGrid.square(n, size, periodic=…)``), a
            :class:`MapMesh`, or a :class:`TriMesh` (wrapped in a MapMesh).
        t1: end time.
        step: time step τ (default t1/100); every τ lowers the energy when θ ≥ ½.
        theta: implicitness θ ∈ [½, 1] of the tangent update (1: most dissipative, first order;
            ½: second order in v, still energy decreasing).
        n_save: saved frames, equally spaced in time.
        tol: stop (status ``converged``) once ‖v‖_M, the L² norm of the velocity, falls below.
        cg_rtol, max_cg: relative residual and iteration cap of the tangent PCG.
        max_steps: a hard cap on the number of steps.
        keep_frames: keep u at the saved times (``frames``).

    Returns:
        a :class:`GeometricSolution` with energy ½∫|∇u|² (discrete: ½Σ w_ij|u_i − u_j|²) and
        diagnostics ``unit_length_error`` (max ||u| − 1|), ``velocity`` (‖v‖_M), ``degree``
        (ΣΩ/4π of the image triangles), ``steps`` and ``cg_iterations``; stats carry the worst
        step's ``max_energy_rise`` and ``max_dissipation_defect`` (E(uⁿ⁺¹) − E(uⁿ) + τ‖v‖²_M,
        relative to E(u⁰); ≤ 0 up to round-off by the theorem).

    Raises:
        ScenarioError: values not of unit length (boundary data included), a mesh with negative
            cotangent weights, bad settings. FlowDiverged: a non-finite step or an energy rise.
    """
    from .meshes import TriMesh

    if isinstance(domain, TriMesh):
        domain = MapMesh(domain)
    if not isinstance(domain, (MapGrid, MapMesh)):
        raise ScenarioError(
            "domain: expected a MapGrid, a MapMesh or a TriMesh for the map's domain.",
            key="domain",
        )
    shape = tuple(domain.shape) + (3,)
    U0 = np.asarray(u0, dtype=float) if not isinstance(u0, np.ndarray) else u0.astype(float)
    if U0.shape != shape:
        where = "grid" if isinstance(domain, MapGrid) else "mesh"
        raise ScenarioError(
            f"u0: expected the map's values at the {where} nodes, shape {shape}, got {U0.shape}.",
            key="u0",
        )
    U0 = check_unit(U0, key="u0", boundary=domain.boundary)
    t1 = _positive(t1, "t1")
    step = t1 / 100 if step is None else _positive(step, "step")
    if not (isinstance(theta, (int, float)) and 0.5 <= theta <= 1):
        raise ScenarioError(
            f"theta: expected a number in [0.5, 1] (θ < ½ loses the energy decrease), got "
            f"{theta!r}.",
            key="theta",
        )
    n_save = _count(n_save, "n_save")
    v_tol = 0.0 if tol is None else _positive(tol, "tol")
    free = (~domain.boundary).astype(float)[..., None]
    if isinstance(domain, MapGrid):
        kind = "grid"
        arrays = {
            "h2": jnp.asarray(domain.h**2),
            "symbol": jnp.asarray(grid_symbol(domain.shape, domain.periodic)),
            "free": jnp.asarray(free),
        }
    else:
        kind = "mesh"
        i, j = domain.mesh.edges.T
        arrays = {
            "i": jnp.asarray(i),
            "j": jnp.asarray(j),
            "w": jnp.asarray(domain.weights),
            "mass": jnp.asarray(domain.mass),
            "diag": jnp.asarray(domain.diagonal()),
            "free": jnp.asarray(free),
        }
    save_times = np.linspace(0.0, t1, n_save + 1)[1:]
    t_wall = time.perf_counter()
    out, worst, E0 = jax.device_get(
        _run(
            jnp.asarray(U0),
            arrays,
            jnp.asarray(save_times),
            step,
            float(theta),
            cg_rtol,
            max_cg,
            v_tol,
            max_steps,
            kind=kind,
            periodic=bool(domain.periodic),
        )
    )
    wall = time.perf_counter() - t_wall
    status = np.asarray(out["status"])
    stopped = np.nonzero(status != _RUNNING)[0]
    last = int(stopped[0]) if len(stopped) else len(status) - 1
    code = int(status[last])
    sl = slice(0, last + 1)
    frames = np.concatenate([U0[None], out["u"][sl]]) if keep_frames else None
    t = np.concatenate([[0.0], out["t"][sl]])
    E = np.concatenate([[float(E0)], out["E"][sl]])
    unit0 = float(np.max(np.abs(np.linalg.norm(U0, axis=-1) - 1)))
    faces = domain.faces
    per = bool(domain.periodic)
    degs = (
        np.array([degree(f, faces, periodic=per) for f in frames])
        if frames is not None
        else np.array([degree(U0, faces, periodic=per)] * len(t))
    )
    diagnostics = {
        "unit_length_error": np.concatenate([[unit0], out["unit"][sl]]),
        "velocity": np.concatenate([[np.nan], out["vnorm"][sl]]),
        "degree": degs,
        "steps": np.concatenate([[0], out["n"][sl]]),
        "cg_iterations": np.concatenate([[0], out["cg"][sl]]),
    }
    checks = {
        "energy_non_increasing_every_step": bool(worst["rise"] <= 1e-12),
        "dissipation_inequality_every_step": bool(worst["defect"] <= 1e-11),
        "energy_non_increasing_at_saves": non_increasing(E, 1e-12),
        "unit_length_1e-12": bool(np.max(diagnostics["unit_length_error"]) < 1e-12),
    }
    name, message = {
        _RUNNING: ("done", f"reached t1 = {t1:g}"),
        _CONVERGED: ("converged", f"‖u_t‖ fell below tol = {v_tol:g} at t = {t[-1]:.6g}"),
        _MAX_STEPS: ("max-steps", f"stopped after max_steps = {max_steps} steps"),
        _NONFINITE: ("non-finite", f"a step after t = {t[-1]:.6g} was not finite"),
        _INCREASE: ("energy-increase", f"the energy rose in the step after t = {t[-1]:.6g}"),
    }[code]
    sol = GeometricSolution(
        flow="harmonic-map",
        energy_name="dirichlet energy ½∫|∇u|²",
        t=t,
        energy=E,
        frames=frames,
        diagnostics=diagnostics,
        status=name,
        message=message,
        checks=checks,
        stats={
            "steps": int(diagnostics["steps"][-1]),
            "cg_iterations": int(diagnostics["cg_iterations"][-1]),
            "cg_max_iterations_in_a_step": int(worst["cg_max"]),
            "cg_worst_relative_residual": float(worst["res"]),
            "max_energy_rise": float(worst["rise"]),
            "max_dissipation_defect": float(worst["defect"]),
            "wall_time_s": wall,
            "nodes": int(np.prod(domain.shape)),
        },
        settings=dict(t1=t1, step=step, theta=theta, n_save=n_save, tol=tol, cg_rtol=cg_rtol),
        final=(frames[-1] if frames is not None else np.asarray(out["u"][last])),
        extra=(
            {"faces": faces, "xy": domain.mesh.vertices[:, :2]}
            if isinstance(domain, MapMesh)
            else {"h": domain.h, "periodic": per}
        ),
    )
    if code in (_NONFINITE, _INCREASE):
        raise FlowDiverged(
            f"harmonic map flow: {message}; the tangent-plane step lowers the energy for every τ "
            "on a weakly acute mesh, so this points at an inexact linear solve — lower cg_rtol or "
            "raise max_cg.",
            x=sol.final,
            t=float(t[-1]),
            step=int(diagnostics["steps"][-1]),
            reason="non-finite" if code == _NONFINITE else "energy-increase",
            solution=sol,
        )
    return sol


def _positive(v: Any, key: str) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not np.isfinite(v) or v <= 0:
        raise ScenarioError(f"{key}: expected a positive number, got {v!r}.", key=key)
    return float(v)


def _count(v: Any, key: str) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
        raise ScenarioError(f"{key}: expected a positive integer, got {v!r}.", key=key)
    return int(v)
