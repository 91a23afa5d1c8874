"""CI-NEB: steepest against ASE's nudged elastic band, on Müller–Brown and on a real surface hop.

What it measures (one run, every number printed). Every method runs the climbing-image NEB
(Henkelman, Uberuaga & Jónsson, J. Chem. Phys. 113 (2000) 9901) to fmax = 0.01 from the
straight band between the same two polished minima; the criterion everywhere is ASE's: the
largest force (per atom for atoms) on every moving image, the climbing image included.

  * Müller–Brown, from the minimum A ≈ (−0.558, 1.442) to B ≈ (0.623, 0.028), 9 and 11
    images (endpoints included), ends polished to the minima by Newton first. The path passes
    the intermediate minimum C, so it has two saddles; the climbing image climbs the higher
    one, (−0.822, 0.624) at V ≈ −40.66, and the barrier is V(saddle) − V(A) ≈ 106.03.
    steepest: ``st.paths.neb`` on ``st.potentials.get("muller-brown")`` (JAX), optimizers
    ODE12r with the spring chain preconditioned (the default), FIRE (Bitzek et al., Phys. Rev.
    Lett. 97 (2006) 170201) and L-BFGS; the table takes the one with the fewest force calls
    (and the fastest), its default spring,
    ``polish_endpoints=False`` (the ends are already minima) and ``verify=False`` (ASE does no
    such check); force calls = ``Path.force_calls``, single-image energy-and-gradient
    evaluations (the Newton refinement of the saddle uses autodiff Hessians, counted apart).
    Wall: best of three calls after a first one, which compiles and is reported apart.
    ASE: ``NEB(images, k, climb=True, method)`` on a one-atom ``Atoms`` whose x, y are the
    Müller–Brown coordinates (z fixed by ``FixCartesian``), with a Müller–Brown calculator in
    NumPy, so that ASE pays no JAX dispatch. Configurations: improved tangents with FIRE, BFGS,
    LBFGS and MDMin at ASE's default settings and at steps scaled to this surface; and ASE's
    ``NEBOptimizer`` (the ODE12r solver of Makri, Ortner & Kermode, J. Chem. Phys. 150 (2019)
    094109) on the improved-tangent, string and spline bands, once with ASE's own residual
    (which leaves the climbing image out) and once with the criterion above; each at springs
    k = 0.1 (ASE's default), 1, 10 and steepest's default (ΔV/L² of the first band). Force calls
    = calls of the calculator's ``calculate`` (endpoints included); a run counts only if its
    final largest force, climbing image included, is ≤ fmax. "ASE best" is the converged run
    with the fewest force calls (its wall time is that run's).
  * The Au adatom hop on Al(100) of ASE's NEB tutorial (EMT; 2x2x3 slab, two bottom layers
    fixed, the adatom moved by one surface spacing to the next hollow site), ends relaxed by
    ASE's QuasiNewton to fmax 1e-3 eV/Å, 5 and 7 images. steepest runs through
    ``steepest.paths.ase.ase_potential`` with the same counting EMT calculator; its force calls
    are all calculator calls, those of the band (``Path.force_calls``) and those of the Newton
    refinement of the saddle on finite-difference Hessians (2 per free coordinate each), which
    ASE does not do; the band's alone are printed too. ASE's configurations as above, at k = 0.1
    and 1 (with ASE's default optimizer settings: the slab is what they are made for).

Targets from the issue: steepest at most a quarter of the force calls of ASE NEB+FIRE, fewer
than ASE's best configuration, and ≥ 10x faster in wall time; the barriers agree to 0.01.

Usage: python benchmarks/bench_neb.py [--quick] (springs 0.1 and steepest's only, 9 and 5
images). The last line printed is ``BENCH_JSON [...]`` for ``make bench``.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from _common import emit_json, jax_header, machine, print_table, row

import steepest as st
from steepest.energy.potentials import _MB_A, _MB_a, _MB_b, _MB_c, _MB_x0, _MB_y0
from steepest.paths.neb import neb

try:
    import ase
    from ase import Atoms
    from ase.build import add_adsorbate, fcc100
    from ase.calculators.calculator import Calculator, all_changes
    from ase.calculators.emt import EMT
    from ase.constraints import FixAtoms, FixCartesian
    from ase.mep import NEB
    from ase.mep.neb import NEBOptimizer
    from ase.optimize import BFGS, FIRE, LBFGS, MDMin, QuasiNewton
except ImportError:  # pragma: no cover
    sys.exit("bench_neb needs ASE: pip install -e '.[ase]'")

from steepest.paths.ase import ase_potential, positions_to_x  # noqa: E402

FMAX = 0.01
MAX_STEPS = 2000


class Count:
    """A force-call counter shared by the calculators of one band."""

    def __init__(self) -> None:
        self.n = 0


# -- the calculators ---------------------------------------------------------------------------
_A, _a, _b, _c, _X0, _Y0 = (np.asarray(v) for v in (_MB_A, _MB_a, _MB_b, _MB_c, _MB_x0, _MB_y0))


def mb_energy_grad(x: float, y: float) -> tuple[float, float, float]:
    dx, dy = x - _X0, y - _Y0
    t = _A * np.exp(_a * dx * dx + _b * dx * dy + _c * dy * dy)
    gx = float(np.sum(t * (2 * _a * dx + _b * dy)))
    gy = float(np.sum(t * (_b * dx + 2 * _c * dy)))
    return float(np.sum(t)), gx, gy


class MullerBrownCalculator(Calculator):
    """Müller–Brown in NumPy on atom 0's (x, y); no force along z."""

    implemented_properties = ["energy", "forces"]

    def __init__(self, count: Count):
        super().__init__()
        self.count = count

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        self.count.n += 1
        e, gx, gy = mb_energy_grad(*self.atoms.positions[0, :2])
        self.results = {"energy": e, "forces": np.array([[-gx, -gy, 0.0]])}


class CountingEMT(EMT):
    """ASE's EMT, counting its calculations."""

    def __init__(self, count: Count):
        super().__init__()
        self.count = count

    def calculate(self, *args, **kwargs):
        self.count.n += 1
        return super().calculate(*args, **kwargs)


class NEBOptimizerAllImages(NEBOptimizer):
    """ASE's NEBOptimizer stopped by ASE's Optimizer criterion: the largest per-atom force on
    every moving image, the climbing image included (ASE's own residual leaves it out)."""

    def get_residual(self, F=None, X=None):
        if F is None:
            F = self.neb.get_forces()
        return float(np.linalg.norm(np.reshape(F, (-1, 3)), axis=1).max())


# -- one ASE run -------------------------------------------------------------------------------
@dataclass
class Run:
    name: str
    calls: int
    wall: float
    barrier: float
    fmax_all: float  # final largest force, climbing image included
    status: str  # "ok", "not converged", "diverged", "stopped early" (CI force > fmax)

    @property
    def ok(self) -> bool:
        return self.status == "ok"


class _Diverged(Exception):
    pass


def run_ase(
    name: str,
    images_of: Callable[[Count], list[ase.Atoms]],
    k: float,
    method: str,
    optimizer: str,
    opt_kw: dict,
    box: float,
) -> Run:
    """One ASE CI-NEB: ``optimizer`` is an ase.optimize class name, or ``ode`` (NEBOptimizer,
    ASE's residual) or ``ode-all`` (NEBOptimizer, every image's force)."""
    count = Count()
    images = images_of(count)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        band = NEB(images, k=k, climb=True, method=method)
    band.interpolate()
    start = np.array([im.positions for im in images])

    def guard():  # a band that runs away is stopped, not left to burn the step budget
        P = np.array([im.positions for im in images])
        if not np.all(np.isfinite(P)) or np.abs(P - start).max() > box:
            raise _Diverged

    if optimizer in ("ode", "ode-all"):
        cls = NEBOptimizer if optimizer == "ode" else NEBOptimizerAllImages
        opt = cls(band, method="ode", logfile=None, **opt_kw)
    else:
        opt = {"FIRE": FIRE, "BFGS": BFGS, "LBFGS": LBFGS, "MDMin": MDMin}[optimizer](
            band, logfile=None, **opt_kw
        )
    opt.attach(guard)
    t0 = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            converged = bool(opt.run(fmax=FMAX, steps=MAX_STEPS))
        status = "ok" if converged else "not converged"
    except _Diverged:
        status = "diverged"
    except Exception as err:  # ODE12r raises when the residual blows up
        status = f"failed ({type(err).__name__})"
    wall = time.perf_counter() - t0
    calls = count.n
    E = np.array([im.get_potential_energy() for im in images])
    fall = np.nan
    if status == "ok":
        F = band.get_forces()
        fall = float(np.linalg.norm(F.reshape(-1, 3), axis=1).max())
        if fall > FMAX * (1 + 1e-9):
            status = "stopped early"
    return Run(name, calls, wall, float(E.max() - E[0]), fall, status)


def ase_grid(images_of, springs, box, optimizers) -> list[Run]:
    runs = []
    for k in springs:
        for opt_name, opt_kw, label in optimizers:
            methods = (
                ("improvedtangent", "string", "spline")
                if "ode" in opt_name
                else ("improvedtangent",)
            )
            for method in methods:
                name = f"{label} {method} k={k:.3g}"
                r = run_ase(name, images_of, k, method, opt_name, opt_kw, box)
                runs.append(r)
                print(
                    f"  ASE {name}: {r.status}, {r.calls} force calls, {r.wall:.3f} s, barrier "
                    f"{r.barrier:.6f}, final max force {r.fmax_all:.3g}",
                    flush=True,
                )
    return runs


# -- steepest ------------------------------------------------------------------------------------
def timed_neb(V, A, B, n, optimizer, repeats, reset=None):
    """(first path, first wall, best warm wall, path of the last warm call)."""
    kw = dict(climb=True, fmax=FMAX, optimizer=optimizer, polish_endpoints=False, verify=False)
    if reset:
        reset()
    t0 = time.perf_counter()
    first = neb(V, A, B, n_images=n, **kw)
    wall1 = time.perf_counter() - t0
    walls, path = [], first
    for _ in range(repeats):
        if reset:
            reset()
        t0 = time.perf_counter()
        path = neb(V, A, B, n_images=n, **kw)
        walls.append(time.perf_counter() - t0)
    return first, wall1, min(walls), path


def newton(V, x):
    for _ in range(30):
        x = x - np.linalg.solve(np.asarray(V.hessian(x)), np.asarray(V.grad(x)))
    return x


def k_default(V, A, B, n):
    """steepest's default spring: (V_max − V_min) / L² of the straight band."""
    t = np.linspace(0.0, 1.0, n)[:, None]
    X = (1 - t) * A + t * B
    E = np.asarray(V(X))
    L = float(np.sum(np.linalg.norm(np.diff(X, axis=0), axis=1)))
    return float(E.max() - E.min()) / L**2


def compare(label, n, st_runs, ase_runs, ase_ref_name, rows):
    """Print the figures of one case and add its table rows."""
    ok = [r for r in ase_runs if r.ok]
    fire = next(r for r in ase_runs if r.name == ase_ref_name)
    best = min(ok, key=lambda r: r.calls) if ok else None
    fastest = min(ok, key=lambda r: r.wall) if ok else None
    s_best = min(st_runs, key=lambda r: r.calls)
    s_fast = min(st_runs, key=lambda r: r.wall)
    print(
        f"{label}, {n} images: ASE {len(ok)}/{len(ase_runs)} configurations converged; "
        f"ASE NEB+FIRE ({fire.name}): {fire.calls} calls, {fire.wall:.3f} s, barrier "
        f"{fire.barrier:.6f} ({fire.status}); ASE best: "
        + (
            f"{best.name}, {best.calls} calls, {best.wall:.3f} s, barrier {best.barrier:.6f}"
            if best
            else "none"
        )
        + (f"; ASE fastest: {fastest.name}, {fastest.wall:.3f} s" if fastest else "")
    )
    fig = f"{label} n={n}"
    rows.append(
        row(
            f"{fig}: force calls, steepest {s_best.name}",
            s_best.calls,
            "calls",
            f"ASE {fire.name}",
            fire.calls,
            fire.calls / s_best.calls,
            ">= 4x",
        )
    )
    if best is not None:
        rows.append(
            row(
                f"{fig}: force calls vs ASE best",
                s_best.calls,
                "calls",
                f"ASE {best.name}",
                best.calls,
                best.calls / s_best.calls,
                "> 1x",
            )
        )
    rows.append(
        row(
            f"{fig}: wall, steepest {s_fast.name}",
            s_fast.wall,
            "s",
            f"ASE {fire.name}",
            fire.wall,
            fire.wall / s_fast.wall,
            ">= 10x",
        )
    )
    if fastest is not None:
        rows.append(
            row(
                f"{fig}: wall vs ASE fastest",
                s_fast.wall,
                "s",
                f"ASE {fastest.name}",
                fastest.wall,
                fastest.wall / s_fast.wall,
                ">= 10x",
            )
        )
    rows.append(
        row(
            f"{fig}: |barrier - ASE FIRE's|",
            abs(s_best.barrier - fire.barrier),
            "",
            target="< 0.01",
        )
    )


@dataclass
class StRun:
    name: str
    calls: int
    wall: float
    barrier: float


# -- the two cases -------------------------------------------------------------------------------
def muller_brown(n_list, springs_extra, rows):
    V = st.potentials.get("muller-brown")
    A = newton(V, np.array([-0.558, 1.442]))
    B = newton(V, np.array([0.623, 0.028]))
    print(
        f"Müller–Brown: A = {A.round(6).tolist()} V {float(V(A)):.6f}, B = "
        f"{B.round(6).tolist()} V {float(V(B)):.6f}"
    )

    def atom(p, count):
        a = Atoms("H", positions=[[p[0], p[1], 0.0]])
        a.set_constraint(FixCartesian([0], mask=(False, False, True)))
        a.calc = MullerBrownCalculator(count)
        return a

    optimizers = [
        ("FIRE", {}, "FIRE"),
        ("FIRE", {"dt": 0.02, "maxstep": 0.05}, "FIRE(dt 0.02, maxstep 0.05)"),
        ("BFGS", {}, "BFGS"),
        ("BFGS", {"alpha": 1000.0, "maxstep": 0.05}, "BFGS(alpha 1000, maxstep 0.05)"),
        ("LBFGS", {}, "LBFGS"),
        ("LBFGS", {"alpha": 1000.0, "maxstep": 0.05}, "LBFGS(alpha 1000, maxstep 0.05)"),
        ("MDMin", {}, "MDMin"),
        ("MDMin", {"dt": 0.02}, "MDMin(dt 0.02)"),
        ("ode", {}, "NEBOptimizer"),
        ("ode-all", {}, "NEBOptimizer[all images]"),
    ]
    for n in n_list:
        k0 = k_default(V, A, B, n)
        springs = [0.1, *springs_extra, k0]
        print(f"Müller–Brown, {n} images (steepest's default spring {k0:.4g}):")
        st_runs = []
        for opt in ("ode", "fire", "lbfgs"):
            first, wall1, wall, p = timed_neb(V, A, B, n, opt, repeats=3)
            print(
                f"  steepest {opt}: converged {p.converged}, {p.iterations} iterations, "
                f"{p.force_calls} force calls, {p.hessian_calls} Hessians, max force "
                f"{p.max_force:.3g}, barrier {p.barrier_forward:.6f}, saddle "
                f"{None if p.saddle is None else p.saddle.x.round(6).tolist()}; wall first call "
                f"{wall1:.3f} s (compiles), best of 3 after: {wall:.4f} s",
                flush=True,
            )
            assert p.converged
            st_runs.append(StRun(opt, p.force_calls, wall, p.barrier_forward))
            rows.append(row(f"MB n={n}: steepest {opt} first call (compiles)", wall1, "s"))
        runs = ase_grid(
            lambda count, n=n: [atom(A, count) for _ in range(n - 1)] + [atom(B, count)],
            springs,
            2.0,
            optimizers,
        )
        compare("MB", n, st_runs, runs, "FIRE improvedtangent k=0.1", rows)


def adatom_hop(n_list, springs, rows):
    slab = fcc100("Al", size=(2, 2, 3))
    add_adsorbate(slab, "Au", 1.7, "hollow")
    slab.center(axis=2, vacuum=4.0)
    slab.set_constraint(FixAtoms(mask=[atom.tag > 1 for atom in slab]))
    init = slab.copy()
    final = slab.copy()
    final[-1].x += slab.get_cell()[0, 0] / 2
    for atoms in (init, final):
        atoms.calc = EMT()
        QuasiNewton(atoms, logfile=None).run(fmax=1e-3, steps=1000)
    print(
        f"EMT Au/Al(100): E(initial) {init.get_potential_energy():.6f} eV, E(final) "
        f"{final.get_potential_energy():.6f} eV"
    )
    optimizers = [
        ("FIRE", {}, "FIRE"),
        ("BFGS", {}, "BFGS"),
        ("LBFGS", {}, "LBFGS"),
        ("MDMin", {}, "MDMin"),
        ("ode", {}, "NEBOptimizer"),
        ("ode-all", {}, "NEBOptimizer[all images]"),
    ]

    def images_of(count, n):
        images = [init.copy() for _ in range(n - 1)] + [final.copy()]
        for im in images:
            im.calc = CountingEMT(count)
        return images

    for n in n_list:
        count = Count()
        V = ase_potential(init, CountingEMT(count))
        a, b = positions_to_x(init), positions_to_x(final)
        print(f"EMT Au/Al(100), {n} images ({V.dim} free coordinates):")
        st_runs = []

        def reset(V=V, count=count):
            V.reset_calls()  # also empties V's cache: every run pays its own calls
            count.n = 0

        for opt in ("ode", "fire", "lbfgs"):
            first, wall1, wall, p = timed_neb(V, a, b, n, opt, repeats=2, reset=reset)
            assert count.n == V.calls, (count.n, V.calls)
            print(
                f"  steepest {opt}: converged {p.converged}, {p.iterations} iterations, band "
                f"{p.force_calls} force calls, calculator calls in all {V.calls} (the saddle's "
                f"Newton refinement on finite-difference Hessians included), max force "
                f"{p.max_force:.3g}, barrier {p.barrier_forward:.6f} eV; wall first call "
                f"{wall1:.3f} s, best of 2 after: {wall:.3f} s",
                flush=True,
            )
            assert p.converged
            st_runs.append(StRun(f"{opt} (all calls)", V.calls, wall, p.barrier_forward))
            st_runs.append(StRun(f"{opt} (band only)", p.force_calls, np.inf, p.barrier_forward))
        runs = ase_grid(lambda count, n=n: images_of(count, n), springs, 3.0, optimizers)
        real = [r for r in st_runs if "all calls" in r.name]
        compare("EMT", n, real, runs, "FIRE improvedtangent k=0.1", rows)
        band = min((r for r in st_runs if "band" in r.name), key=lambda r: r.calls)
        fire = next(r for r in runs if r.name == "FIRE improvedtangent k=0.1")
        ok = [r for r in runs if r.ok]
        best = min(ok, key=lambda r: r.calls)
        rows.append(
            row(
                f"EMT n={n}: band force calls only, steepest {band.name}",
                band.calls,
                "calls",
                f"ASE {fire.name}",
                fire.calls,
                fire.calls / band.calls,
                ">= 4x",
            )
        )
        rows.append(
            row(
                f"EMT n={n}: band force calls only vs ASE best",
                band.calls,
                "calls",
                f"ASE {best.name}",
                best.calls,
                best.calls / band.calls,
                "> 1x",
            )
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer springs and image counts")
    args = ap.parse_args()

    m = machine()
    print(
        f"machine: {m['cpu']}, {m['cores']} cores, {m['mhz']:.0f} MHz ({m['mhz_source']}), "
        f"{m['isa']}; python {sys.version.split()[0]}, numpy {np.__version__}, ase "
        f"{ase.__version__}"
    )
    print(*jax_header(), sep="\n")
    rows: list[dict] = []
    muller_brown([9] if args.quick else [9, 11], [] if args.quick else [1.0, 10.0], rows)
    adatom_hop([5] if args.quick else [5, 7], [0.1] if args.quick else [0.1, 1.0], rows)
    print()
    print_table(rows)
    emit_json(rows)


if __name__ == "__main__":
    main()
