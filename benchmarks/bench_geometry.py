"""Geometric flows: mean curvature flow of a 100k-vertex sphere and harmonic map flow on 512².

What it measures (one run, every number printed):

  * MCF: ``st.geometry.mean_curvature_flow`` of the unit sphere sampled at 100,000 Fibonacci
    points (the convex hull: 199,996 triangles), 100 implicit steps (M + τL)Xⁿ⁺¹ = MXⁿ with
    τ = 1e-4, barycentric mass, block Jacobi-preconditioned CG (the three coordinates together)
    warm started from Xⁿ (rtol 1e-10),
    saving 5 frames. Time in the sparse solves and in the assembly are reported apart
    (``stats``). Peer, in the same run: the same 100 steps with libigl's ``cotmatrix`` and
    ``massmatrix`` (barycentric) and ``scipy.sparse.linalg.cg`` per coordinate with the same
    Jacobi preconditioner, warm start and tolerance — the usual libigl + scipy loop —
    when libigl is installed, else scipy's own COO assembly of the cotangent matrix. Target:
    steepest within 1.5× of the peer. Both end on the same surface (max vertex difference
    printed) and the sphere law r² = r0² − 4t is printed as a check.
  * Harmonic map flow: ``st.geometry.harmonic_map_flow`` of a perturbed degree-one map on a
    512² Dirichlet grid of side 16 (h = 16/511), 1,000 tangent-plane steps of τ = 1e-3 with the
    DST-preconditioned tangent PCG, one compiled loop. Steps/s (after a first call that
    compiles, reported apart), PCG iterations, and the time spent in the DST solves: the same
    number of preconditioner applications timed alone in one compiled loop (a sample of 50,
    scaled). ``--only harmonic`` or ``--only mcf`` runs one half.

Usage: ``python benchmarks/bench_geometry.py [--quick]`` (``--quick``: 20k vertices, 20 MCF
steps, 100 harmonic steps).
"""

from __future__ import annotations

import sys
import time

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from _common import emit_json, jax_header, print_table, row

import steepest as st
from steepest.geometry import meshes


def mcf_bench(n_vertices: int, n_steps: int, tau: float = 1e-4):
    mesh = meshes.fibonacci_sphere(n_vertices)
    t0 = time.perf_counter()
    sol = st.geometry.mean_curvature_flow(mesh, t1=n_steps * tau, step=tau, n_save=5)
    wall = time.perf_counter() - t0
    r2 = sol.diagnostics["area"] / (4 * np.pi)
    law = float(np.max(np.abs(r2 - (r2[0] - 4 * sol.t))))

    try:
        import igl

        peer_name = "libigl cotmatrix/massmatrix + scipy CG"

        def assemble(V, F):
            return -igl.cotmatrix(V, F), igl.massmatrix(V, F, igl.MASSMATRIX_TYPE_BARYCENTRIC)
    except ImportError:  # pragma: no cover - the bench extra installs libigl
        peer_name = "scipy COO cotangent assembly + scipy CG"

        def assemble(V, F):
            P = V[F]
            L = sp.csr_matrix((len(V), len(V)))
            rows, cols, vals = [], [], []
            area = 0.5 * np.linalg.norm(np.cross(P[:, 1] - P[:, 0], P[:, 2] - P[:, 0]), axis=1)
            for k in range(3):
                i, j, o = F[:, (k + 1) % 3], F[:, (k + 2) % 3], F[:, k]
                a, b = V[i] - V[o], V[j] - V[o]
                cot = np.einsum("ij,ij->i", a, b) / np.linalg.norm(np.cross(a, b), axis=1)
                rows += [i, j, i, j]
                cols += [j, i, i, j]
                vals += [-0.5 * cot, -0.5 * cot, 0.5 * cot, 0.5 * cot]
            L = sp.coo_matrix(
                (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                shape=(len(V), len(V)),
            ).tocsr()
            m = np.bincount(F.ravel(), np.repeat(area / 3, 3), len(V))
            return L, sp.diags(m)

    V, F = mesh.vertices.copy(), mesh.faces
    t_asm = t_solve = 0.0
    t0 = time.perf_counter()
    for _ in range(n_steps):
        a = time.perf_counter()
        L, M = assemble(V, F)
        A = (M + tau * L).tocsr()
        b = time.perf_counter()
        # the usual scipy call: Jacobi-preconditioned CG per coordinate, warm started
        d = A.diagonal()
        pre = spla.LinearOperator(A.shape, matvec=lambda v, d=d: v / d, dtype=float)
        B = M @ V
        V = np.stack(
            [spla.cg(A, B[:, k], x0=V[:, k], rtol=1e-10, atol=0.0, M=pre)[0] for k in range(3)],
            axis=1,
        )
        t_asm += b - a
        t_solve += time.perf_counter() - b
    peer_wall = time.perf_counter() - t0
    diff = float(np.max(np.abs(V - sol.frames[-1])))
    return {
        "vertices": mesh.n_vertices,
        "faces": len(F),
        "steps": n_steps,
        "steepest_s": wall,
        "steepest_steps_per_s": n_steps / wall,
        "steepest_solve_s": sol.stats["solve_time_s"],
        "steepest_assembly_s": sol.stats["assembly_time_s"],
        "cg_iterations": sol.stats["iterations"],
        "peer": peer_name,
        "peer_s": peer_wall,
        "peer_solve_s": t_solve,
        "peer_assembly_s": t_asm,
        "ratio": wall / peer_wall,
        "max_vertex_difference": diff,
        "sphere_law_error": law,
    }


def harmonic_bench(n: int, n_steps: int, tau: float = 1e-3):
    import jax
    import jax.numpy as jnp

    from steepest.geometry.map_domains import MapGrid, grid_solve, grid_symbol
    from steepest.geometry.sphere_maps import stereographic

    g = MapGrid.square(n, 16.0)
    X, Y = g.coordinates()
    u = stereographic(X, Y, 1.0) + 0.8 * np.exp(-(X**2 + Y**2) / 4)[..., None] * [1.0, 0, 0.3]
    u0 = u / np.linalg.norm(u, axis=-1, keepdims=True)
    t1 = n_steps * tau
    # a first call of 10 steps compiles (same shapes, so the timed call reuses it)
    t0 = time.perf_counter()
    st.geometry.harmonic_map_flow(u0, g, t1=10 * tau, step=tau, n_save=1, keep_frames=False)
    first_wall = time.perf_counter() - t0
    t0 = time.perf_counter()
    sol = st.geometry.harmonic_map_flow(u0, g, t1=t1, step=tau, n_save=1, keep_frames=False)
    best = time.perf_counter() - t0
    applications = sol.stats["cg_iterations"] + sol.stats["steps"]  # one more per PCG start
    denom = jnp.asarray(g.h**2 + tau * grid_symbol(g.shape, False))

    @jax.jit
    def solves(r, k):
        return jax.lax.fori_loop(0, k, lambda _, r: grid_solve(r, denom, False) * 0.999 + r, r)

    r = jnp.asarray(u0)
    solves(r, 2).block_until_ready()
    sample = min(applications, 50)  # time a sample of the solves and scale to their number
    t0 = time.perf_counter()
    solves(r, sample).block_until_ready()
    dst = (time.perf_counter() - t0) * applications / sample
    return {
        "grid": f"{n}x{n}",
        "steps": sol.stats["steps"],
        "first_call_s": first_wall,
        "wall_s": best,
        "steps_per_s": sol.stats["steps"] / best,
        "pcg_iterations": sol.stats["cg_iterations"],
        "dst_solve_s": dst,
        "energy": [float(sol.energy[0]), float(sol.energy[-1])],
        "max_energy_rise": sol.stats["max_energy_rise"],
        "unit_length_error": float(sol.diagnostics["unit_length_error"][-1]),
        "checks": sol.checks,
    }


def main(argv: list[str]) -> None:
    quick = "--quick" in argv
    only = argv[argv.index("--only") + 1] if "--only" in argv else None
    print(*jax_header(), sep="\n")
    rows = []
    if only != "harmonic":
        m = mcf_bench(20_000 if quick else 100_000, 20 if quick else 100)
        _print_mcf(m)
        rows += [
            row(
                f"MCF of a {m['vertices']}-vertex sphere, {m['steps']} implicit steps",
                m["steepest_s"],
                "s",
                peer=m["peer"],
                peer_value=m["peer_s"],
                ratio=m["ratio"],
                target="≤ 1.5x time",
            ),
            row("MCF: time in the sparse solves", m["steepest_solve_s"], "s"),
        ]
    if only != "mcf":
        h = harmonic_bench(128 if quick else 512, 100 if quick else 1000)
        _print_harmonic(h)
        rows += [
            row(f"harmonic map flow {h['grid']}, {h['steps']} steps", h["steps_per_s"], "steps/s"),
            row(
                "harmonic map flow: time in the DST solves / total",
                h["dst_solve_s"] / h["wall_s"],
                "fraction",
            ),  # fmt: skip
        ]
    print_table(rows)
    emit_json(rows)


def _print_mcf(m):
    print(
        f"MCF, {m['vertices']} vertices / {m['faces']} faces, {m['steps']} implicit steps: "
        f"steepest {m['steepest_s']:.2f} s ({m['steepest_steps_per_s']:.1f} steps/s; solve "
        f"{m['steepest_solve_s']:.2f} s, assembly {m['steepest_assembly_s']:.2f} s, "
        f"{m['cg_iterations']} CG iterations) vs {m['peer']} {m['peer_s']:.2f} s (solve "
        f"{m['peer_solve_s']:.2f} s, assembly {m['peer_assembly_s']:.2f} s): ratio "
        f"{m['ratio']:.2f} (target ≤ 1.5); same surface to {m['max_vertex_difference']:.1e}; "
        f"|r² − (r0² − 4t)| ≤ {m['sphere_law_error']:.1e}"
    )


def _print_harmonic(h):
    print(
        f"harmonic map flow, {h['grid']} Dirichlet grid, {h['steps']} steps: {h['wall_s']:.2f} s "
        f"({h['steps_per_s']:.1f} steps/s; first call of 10 steps {h['first_call_s']:.2f} s), "
        f"{h['pcg_iterations']} PCG iterations, DST solves alone {h['dst_solve_s']:.2f} s; "
        f"energy {h['energy'][0]:.6g} → {h['energy'][1]:.6g}, largest step rise "
        f"{h['max_energy_rise']:.1e}, ||u| − 1| ≤ {h['unit_length_error']:.1e}, checks "
        f"{'hold' if all(h['checks'].values()) else h['checks']}"
    )


if __name__ == "__main__":
    main(sys.argv[1:])
