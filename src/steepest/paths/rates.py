"""From barriers to rates: harmonic rate formulas, and escape times measured by Langevin dynamics.

Two routes from a minimum a, over an index-1 saddle s, to the next basin:

* :func:`harmonic_rate`, the asymptotic formula for a barrier ΔE = V(s) − V(a) ≫ kT, from the
  Hessians at a and s alone:

  - overdamped (Kramers 1940; Langer 1969) for dx = −∇V/γ dt + √(2kT/γ) dW::

        k = |λ⁻| / (2πγ) · √(det H_a / |det H_s|) · exp(−ΔE/kT),

    λ⁻ the negative eigenvalue of H_s, the Hessian at the saddle;
  - harmonic transition-state theory (Vineyard 1957), masses m::

        k = Πᵢ ν_a,ᵢ / Π'ᵢ ν_s,ᵢ · exp(−ΔE/kT),   ν = √λ / (2π),

    λ the eigenvalues of the mass-weighted Hessian M^(−1/2) H M^(−1/2); the product at the
    saddle leaves out the unstable mode. TST counts every crossing of the dividing surface, so it
    is an upper bound on the rate of any dynamics; it is independent of friction.

  Both are the leading term of an expansion in kT/ΔE: the first corrections are O(kT/ΔE)
  (Hänggi, Talkner & Borkovec, Rev. Mod. Phys. 62 (1990) 251), a few per cent to ten per cent
  at ΔE = 6 kT.

* :func:`escape_rate`, the same rate measured: walkers of overdamped Langevin dynamics
  (:func:`langevin`, Euler–Maruyama) start at a and stop at their first passage into a ball
  around b; k = 1 / (mean first-passage time). For a barrier of several kT and a target region
  that lies well past the saddle (the walkers that reach it do not come back: its committor is
  ≈ 1), the mean first-passage time is 1/k of Kramers–Langer up to the O(kT/ΔE) corrections.

References:
    H. A. Kramers, Physica 7 (1940) 284. J. S. Langer, Ann. Phys. 54 (1969) 258.
    G. H. Vineyard, J. Phys. Chem. Solids 3 (1957) 121.
    P. Hänggi, P. Talkner & M. Borkovec, Rev. Mod. Phys. 62 (1990) 251.
"""

from __future__ import annotations

import math
import time
import weakref
from dataclasses import dataclass, field
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from .._core.errors import ConvergenceError, FlowDiverged, ScenarioError
from ..energy.potential import Potential
from ..landscape.critical import DEGENERATE_RTOL, classify
from ..landscape.critical_point import CriticalPoint

DYNAMICS = ("overdamped", "tst")
#: default Euler–Maruyama step, as a fraction of the stability limit 2γ/λ_max at the minima
DT_FRACTION = 0.05
#: default target radius, as a fraction of the distance between the two minima
RADIUS_FRACTION = 0.25
#: default cap on the escape simulation, in steps of dt (when max_time is not given)
MAX_STEPS = 1_000_000
CHUNK = 128  # Euler–Maruyama steps per iteration of the compiled loop (one noise draw each)
MIN_BUCKET = 64  # walkers are compacted into power-of-two batches no smaller than this

_FORMULAS = {
    "overdamped": "k = |λ⁻|/(2πγ) · √(det H_min / |det H_saddle|) · exp(−ΔE/kT)"
    "  (Kramers–Langer, overdamped)",
    "tst": "k = Πᵢ ν_min,ᵢ / Π'ᵢ ν_saddle,ᵢ · exp(−ΔE/kT), ν = √λ/(2π) of M^(−1/2) H M^(−1/2)"
    "  (harmonic transition-state theory, Vineyard)",
}

#: compiled kernels per potential (weakly): the Langevin and escape loops
_KERNELS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


# -- results -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class RateEstimate:
    """A harmonic rate constant k = prefactor · exp(−barrier/kT), and what it was made from.

    Attributes:
        k: the rate constant (per unit time), from ``minimum`` over ``saddle``.
        prefactor: k · exp(barrier/kT), the attempt frequency.
        barrier: ΔE = V(saddle) − V(minimum).
        kT: the thermal energy.
        dynamics: ``"overdamped"`` (Kramers–Langer) or ``"tst"`` (Vineyard).
        formula: the formula used, in words.
        friction: γ for ``overdamped``; None for ``tst`` (independent of friction).
        minimum: the polished minimum, a :class:`~steepest.landscape.CriticalPoint`.
        saddle: the polished index-1 saddle.
        unstable_eigenvalue: λ⁻, the negative eigenvalue of the Hessian at the saddle (of the
            mass-weighted Hessian for ``tst``).
        masses: the masses for ``tst`` (None: unit masses).
    """

    k: float
    prefactor: float
    barrier: float
    kT: float
    dynamics: str
    formula: str
    friction: float | None
    minimum: CriticalPoint
    saddle: CriticalPoint
    unstable_eigenvalue: float
    masses: np.ndarray | None = None

    @property
    def barrier_over_kT(self) -> float:
        """ΔE/kT; the formulas are asymptotic in kT/ΔE, with corrections O(kT/ΔE)."""
        return self.barrier / self.kT

    @property
    def mfpt(self) -> float:
        """1/k, the mean time to escape (what :func:`escape_rate` measures)."""
        return 1.0 / self.k

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly: the numbers, the formula and the two points."""
        return {
            "k": self.k,
            "prefactor": self.prefactor,
            "barrier": self.barrier,
            "kT": self.kT,
            "barrier_over_kT": self.barrier_over_kT,
            "dynamics": self.dynamics,
            "formula": self.formula,
            "friction": self.friction,
            "unstable_eigenvalue": self.unstable_eigenvalue,
            "minimum": self.minimum.to_dict(),
            "saddle": self.saddle.to_dict(),
        }


@dataclass(frozen=True)
class LangevinPaths:
    """Walkers of overdamped Langevin dynamics, saved at ``n_save`` times.

    Attributes:
        t: the save times, shape ``(n_save,)``, t[0] = 0.
        x: the positions, shape ``(n_save, n_walkers, dim)``.
        energy: V at those positions, shape ``(n_save, n_walkers)``.
        dt, kT, friction, seed: the settings of the run.
    """

    t: np.ndarray
    x: np.ndarray
    energy: np.ndarray
    dt: float
    kT: float
    friction: float
    seed: int


@dataclass(frozen=True)
class EscapeEstimate:
    """A rate measured as k = 1/⟨τ⟩, τ the first-passage time of walkers from a into the target.

    Attributes:
        k: 1/mfpt (NaN when censored).
        k_stderr: its standard error, mfpt_stderr/mfpt² (delta method).
        mfpt: the mean first-passage time ⟨τ⟩ over the walkers (NaN when censored).
        mfpt_stderr: std(τ)/√n_walkers.
        n_walkers: how many walkers started.
        n_arrived: how many reached the target within ``max_time``.
        times: each walker's first-passage time, inf where it did not arrive.
        a, b: the polished start and target minima.
        radius: the target is the ball |x − b| ≤ radius.
        dt, kT, friction, max_time, seed: the settings of the run.
        n_steps: steps taken by the longest-running walker.
        wall_s: wall-clock seconds of the simulation (compilation included).
    """

    k: float
    k_stderr: float
    mfpt: float
    mfpt_stderr: float
    n_walkers: int
    n_arrived: int
    times: np.ndarray = field(repr=False)
    a: CriticalPoint = field(repr=False)
    b: CriticalPoint = field(repr=False)
    radius: float
    dt: float
    kT: float
    friction: float
    max_time: float
    seed: int
    n_steps: int
    wall_s: float

    @property
    def censored(self) -> bool:
        """True when some walkers had not arrived at ``max_time`` (then mfpt and k are NaN)."""
        return self.n_arrived < self.n_walkers

    @property
    def relative_error(self) -> float:
        """k_stderr / k, ≈ 1/√n_walkers when τ is exponential (a high barrier)."""
        return self.k_stderr / self.k


# -- checks ------------------------------------------------------------------------------------
def _positive(name: str, value: Any, example: str) -> float:
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    v = float(value) if ok else float("nan")
    if not (math.isfinite(v) and v > 0):
        raise ScenarioError(
            f"{name}: expected a positive finite number such as {example}, got {value!r}.",
            key=name,
        )
    return v


def _seed(seed: Any) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ScenarioError(f"seed: expected an integer such as 0, got {seed!r}.", key="seed")
    return int(seed)


def _count(name: str, value: Any, example: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ScenarioError(
            f"{name}: expected a positive integer such as {example}, got {value!r}.", key=name
        )
    return int(value)


def _check_potential(V: Any) -> Potential:
    if not isinstance(V, Potential):
        raise ScenarioError(
            f"V: expected a steepest Potential (e.g. st.potentials.get('double-well')), "
            f"got {type(V).__name__}.",
            key="V",
        )
    return V


def _fmt(x: np.ndarray) -> str:
    return "[" + ", ".join(f"{v:.6g}" for v in np.asarray(x, dtype=float).ravel()) + "]"


def _checked(V: Potential, cp: CriticalPoint, role: str) -> CriticalPoint | None:
    """A CriticalPoint given as such: recomputed from V at its x (energy, Hessian eigenpairs),
    without a Newton search; None when ∇V(x) is not zero to the accuracy of a polished point.
    """
    x = np.asarray(cp.x, dtype=float)
    if x.shape != (V.dim,) or not np.all(np.isfinite(x)):
        raise ScenarioError(
            f"{role}: {V.name!r} has dimension {V.dim}, got a CriticalPoint at {_fmt(x)}; pass a "
            f"point of this potential.",
            key=role,
        )
    g = np.asarray(V.grad(x))
    H = np.asarray(V.hessian(x))
    lam, vec = np.linalg.eigh(0.5 * (H + H.T))
    # a polished point has |∇V| at round-off, ≈ ε‖H‖‖x‖; allow a wide margin above that, and
    # no more than a Newton step of 1e-6 (relative) from the true critical point
    scale = max(1.0, float(np.linalg.norm(x)))
    tol = max(1e-8, 1e-6 * float(np.abs(lam).min()) * scale)
    gn = float(np.linalg.norm(g))
    if not gn <= tol:
        return None  # not critical to that accuracy: Newton-polish it like coordinates
    amin, amax = float(np.abs(lam).min()), float(np.abs(lam).max())
    n_neg = int(np.sum(lam < 0))
    kind = {0: "minimum", V.dim: "maximum"}.get(n_neg, "saddle")
    if amin <= DEGENERATE_RTOL * max(1.0, amax):
        kind = "degenerate"
    return CriticalPoint(
        x=x, energy=float(V(x)), index=n_neg, kind=kind, eigenvalues=lam, eigenvectors=vec,
        residual=gn, extra=dict(cp.extra),
    )  # fmt: skip


def _critical(V: Potential, point: Any, role: str, index: int) -> CriticalPoint:
    """Polish ``point`` by Newton (:func:`~steepest.landscape.classify`), or take a
    CriticalPoint that is critical for V to round-off as it is (its Hessian data recomputed from
    V), and check its Morse index."""
    what = "a local minimum" if index == 0 else "an index-1 saddle"
    where = "minima" if index == 0 else "saddles"
    cp = _checked(V, point, role) if isinstance(point, CriticalPoint) else None
    if cp is None:
        if isinstance(point, CriticalPoint):
            point = point.x
        try:
            cp = classify(V, point)
        except ScenarioError as e:
            msg = str(e).removeprefix("x: ")
            raise ScenarioError(f"{role}: {msg}", key=role) from None
        except ConvergenceError as e:
            raise ScenarioError(
                f"{role}: Newton from {_fmt(np.asarray(point, dtype=float))} found no critical "
                f"point ({e}); pass {what}, e.g. from steepest.landscape.critical_points(V)."
                f"{where}.",
                key=role,
            ) from None
    if cp.kind == "degenerate":
        raise ScenarioError(
            f"{role}: the critical point at {_fmt(cp.x)} is degenerate (a Hessian eigenvalue "
            f"is zero to round-off, {_fmt(cp.eigenvalues)}), where no harmonic rate exists; "
            f"pass {what} with a non-singular Hessian.",
            key=role,
        )
    if cp.index != index:
        kind = {0: "a minimum", 1: "an index-1 saddle"}.get(cp.index, f"a {cp.kind}")
        raise ScenarioError(
            f"{role}: the critical point at {_fmt(cp.x)} has Morse index {cp.index} ({kind}), "
            f"not {index}; pass {what}, e.g. one of steepest.landscape.critical_points(V)."
            f"{where}.",
            key=role,
        )
    return cp


# -- harmonic rates ----------------------------------------------------------------------------
def harmonic_rate(
    V: Potential,
    minimum: Any,
    saddle: Any,
    kT: float,
    *,
    friction: float = 1.0,
    dynamics: str = "overdamped",
    masses: Any = None,
) -> RateEstimate:
    """The harmonic rate constant of escape from ``minimum`` over ``saddle`` at temperature kT.

    ``dynamics="overdamped"``: Kramers–Langer (Kramers 1940; Langer 1969; the review of Hänggi,
    Talkner & Borkovec 1990) for dx = −∇V/γ dt + √(2kT/γ) dW::

        k = |λ⁻| / (2πγ) · √(det H_min / |det H_saddle|) · exp(−ΔE/kT),

    with λ⁻ the negative eigenvalue of the Hessian at the saddle and ΔE = V(saddle) − V(min).

    ``dynamics="tst"``: harmonic transition-state theory (Vineyard 1957)::

        k = Πᵢ ν_min,ᵢ / Π'ᵢ ν_saddle,ᵢ · exp(−ΔE/kT),   ν = √λ / (2π),

    λ the eigenvalues of the mass-weighted Hessian M^(−1/2) H M^(−1/2) (unit masses unless
    ``masses`` is given), the product at the saddle without its unstable mode. Friction does not
    enter TST.

    Both formulas are the leading order for ΔE ≫ kT; the corrections are O(kT/ΔE). The saddle
    must be the one on the path out of this minimum (its unstable manifold reaches the minimum);
    that is not checked here, only that its energy lies above the minimum's.

    Args:
        V: the potential.
        minimum: a :class:`~steepest.landscape.CriticalPoint` or coordinates near a minimum;
            either is Newton-polished with :func:`~steepest.landscape.classify`.
        saddle: the same for the index-1 saddle.
        kT: the thermal energy, > 0.
        friction: γ > 0 (overdamped only; the rate scales as 1/γ).
        dynamics: ``"overdamped"`` or ``"tst"``.
        masses: for ``tst``: one positive mass, or one per coordinate.

    Raises:
        ScenarioError: a bad kT, friction, dynamics or masses; a ``minimum`` of Morse index ≠ 0;
            a ``saddle`` of index ≠ 1; a degenerate point; a saddle not above the minimum.

    Examples:
        >>> import steepest as st
        >>> V = st.potentials.get("double-well")
        >>> r = harmonic_rate(V, [1.0, 0.0], [0.0, 0.0], kT=0.25)
        >>> round(r.k / math.exp(-4.0), 6) == round(2 * math.sqrt(2) / math.pi, 6)
        True
    """
    V = _check_potential(V)
    kT = _positive("kT", kT, "0.1")
    if dynamics not in DYNAMICS:
        raise ScenarioError(
            f"dynamics: expected one of {', '.join(map(repr, DYNAMICS))}, got {dynamics!r}.",
            key="dynamics",
        )
    gamma = _positive("friction", friction, "1.0")
    if masses is not None and dynamics != "tst":
        raise ScenarioError(
            "masses: only dynamics='tst' uses masses (overdamped motion has none); drop masses "
            "or pass dynamics='tst'.",
            key="masses",
        )
    m = np.ones(V.dim)
    if masses is not None:
        try:
            m = np.broadcast_to(np.asarray(masses, dtype=float), (V.dim,)).copy()
        except (TypeError, ValueError):
            m = np.full(V.dim, np.nan)
        if not np.all(np.isfinite(m) & (m > 0)):
            raise ScenarioError(
                f"masses: expected one positive mass or {V.dim} of them, got {masses!r}.",
                key="masses",
            )
    a = _critical(V, minimum, "minimum", 0)
    s = _critical(V, saddle, "saddle", 1)
    barrier = float(s.energy - a.energy)
    if not barrier > 0:
        raise ScenarioError(
            f"saddle: its energy {s.energy:.6g} is not above the minimum's {a.energy:.6g}, so it "
            "is not a barrier out of this minimum; pass the saddle whose unstable manifold "
            "reaches the minimum.",
            key="saddle",
        )
    if dynamics == "overdamped":
        lam_a, lam_s = np.asarray(a.eigenvalues), np.asarray(s.eigenvalues)
        unstable = float(lam_s[0])
        # √(det H_min / |det H_saddle|) as a sum of logs: no overflow in high dimension
        log_ratio = 0.5 * (np.sum(np.log(lam_a)) - np.sum(np.log(np.abs(lam_s))))
        prefactor = abs(unstable) / (2 * math.pi * gamma) * math.exp(log_ratio)
    else:
        w = 1.0 / np.sqrt(m)
        lam_a = np.linalg.eigvalsh(np.asarray(V.hessian(a.x)) * np.outer(w, w))
        lam_s = np.linalg.eigvalsh(np.asarray(V.hessian(s.x)) * np.outer(w, w))
        unstable = float(lam_s[0])
        # Π ν_min / Π' ν_saddle = (1/2π) √(Π λ_min / Π' λ_saddle)
        log_ratio = 0.5 * (np.sum(np.log(lam_a)) - np.sum(np.log(lam_s[1:])))
        prefactor = math.exp(log_ratio) / (2 * math.pi)
    return RateEstimate(
        k=prefactor * math.exp(-barrier / kT),
        prefactor=prefactor,
        barrier=barrier,
        kT=kT,
        dynamics=dynamics,
        formula=_FORMULAS[dynamics],
        friction=gamma if dynamics == "overdamped" else None,
        minimum=a,
        saddle=s,
        unstable_eigenvalue=unstable,
        masses=m if masses is not None else None,
    )


# -- Langevin dynamics ---------------------------------------------------------------------------
def _kernel(V: Potential, name: str, build: Any) -> Any:
    per = _KERNELS.setdefault(V, {})
    if name not in per:
        per[name] = jax.jit(build(V))
    return per[name]


def _build_langevin(V: Potential) -> Any:
    """``(x0, key, dt, kT, gamma, lengths) -> xs``: Euler–Maruyama, saving after each segment."""
    grad = jax.vmap(V._grad)

    def run(x0, key, dt, kT, gamma, lengths):
        scale = jnp.sqrt(2.0 * kT * dt / gamma)

        def step(n, x):
            # a key per step (folded in from the step number), one normal per walker and axis
            xi = jax.random.normal(jax.random.fold_in(key, n), x.shape, x.dtype)
            return x - (dt / gamma) * grad(x) + scale * xi

        def segment(carry, length):
            x, n0 = carry
            x = lax.fori_loop(n0, n0 + length, step, x)
            return (x, n0 + length), x

        _, xs = lax.scan(segment, (x0, jnp.zeros((), lengths.dtype)), lengths)
        return jnp.concatenate([x0[None], xs])

    return run


def _check_walkers(V: Potential, x0: Any) -> np.ndarray:
    try:
        x = np.asarray(x0, dtype=float)
    except (TypeError, ValueError):
        x = np.empty((0,))
    if x.ndim != 2 or x.shape[1] != V.dim or x.shape[0] < 1:
        raise ScenarioError(
            f"x0: expected the walkers' starts as an array of shape (n_walkers, {V.dim}), got "
            f"shape {x.shape}; e.g. np.tile(start, (100, 1)) for 100 walkers at one start.",
            key="x0",
        )
    if not np.all(np.isfinite(x)):
        raise ScenarioError("x0: the starts must be finite; some are NaN or inf.", key="x0")
    return x


def langevin(
    V: Potential,
    x0: Any,
    kT: float,
    *,
    dt: float,
    n_steps: int,
    friction: float = 1.0,
    seed: int = 0,
    n_save: int | None = None,
) -> LangevinPaths:
    """Overdamped Langevin dynamics dx = −∇V/γ dt + √(2kT/γ) dW of a batch of walkers.

    Euler–Maruyama, x ← x − (dt/γ)∇V(x) + √(2kT dt/γ) ξ with ξ standard normal, all walkers
    and all steps in one compiled call (a scan over the save times of a loop over steps, the
    gradient vmapped over walkers). The noise of step n comes from the key of ``seed`` folded
    with n, so a run is reproducible. The step must be well below the stability limit 2γ/λ_max
    of the stiffest Hessian eigenvalue met; the invariant measure and the rates carry an O(dt)
    bias.

    Args:
        V: the potential.
        x0: the starts, shape ``(n_walkers, dim)``.
        kT: the thermal energy, > 0.
        dt: the time step.
        n_steps: the number of steps.
        friction: γ > 0.
        seed: the seed of the noise.
        n_save: how many times to save, t = 0 and t = n_steps·dt included (equally spaced to a
            whole step); default min(n_steps, 100) + 1.

    Raises:
        ScenarioError: a bad shape of x0 or a bad setting.
        FlowDiverged: a walker became NaN or inf (dt too large for the stiffness).
    """
    V = _check_potential(V)
    x = _check_walkers(V, x0)
    kT = _positive("kT", kT, "0.1")
    dt = _positive("dt", dt, "1e-3")
    gamma = _positive("friction", friction, "1.0")
    n_steps = _count("n_steps", n_steps, "10000")
    n_save = min(n_steps, 100) + 1 if n_save is None else _count("n_save", n_save, "101")
    if not 2 <= n_save <= n_steps + 1:
        raise ScenarioError(
            f"n_save: expected between 2 and n_steps + 1 = {n_steps + 1} save times (t = 0 and "
            f"the end included), got {n_save}.",
            key="n_save",
        )
    marks = np.round(np.linspace(0, n_steps, n_save)).astype(np.int64)
    seed = _seed(seed)
    key = jax.random.key(seed)
    xs = _kernel(V, "langevin", _build_langevin)(x, key, dt, kT, gamma, np.diff(marks))
    xs = np.asarray(xs)
    bad = ~np.all(np.isfinite(xs), axis=2)
    if bad.any():
        i, w = np.argwhere(bad)[0]
        last = xs[i - 1, w] if i > 0 else x[w]
        raise FlowDiverged(
            f"langevin: walker {w} became non-finite by t = {marks[i] * dt:.6g}; dt = {dt:g} is "
            "too large for the stiffness of V there: use a dt well below 2γ/λ_max.",
            x=last,
            t=float(marks[max(i - 1, 0)] * dt),
            step=int(marks[i]),
            sample=int(w),
        )
    energy = np.asarray(V(xs.reshape(-1, V.dim))).reshape(xs.shape[:2])
    return LangevinPaths(
        t=marks * dt, x=xs, energy=energy, dt=dt, kT=kT, friction=gamma, seed=int(seed)
    )


# -- escape rates ------------------------------------------------------------------------------
def _build_escape(V: Potential) -> Any:
    """``(x, arrived, key, step, max_steps, stop_at, dt, kT, gamma, b, r2) -> (x, arrived,
    step, finite)``: Euler–Maruyama in chunks of CHUNK steps, until at most ``stop_at`` walkers
    are still out (or ``max_steps``); ``arrived`` is −1 for walkers still out, else the step of
    their first passage into |x − b|² ≤ r2. Walkers that arrived stand still."""
    grad = jax.vmap(V._grad)

    def run(x, arrived, key, step, max_steps, stop_at, dt, kT, gamma, b, r2):
        scale = jnp.sqrt(2.0 * kT * dt / gamma)

        def chunk(state):
            x, arrived, n0, _ = state
            # one draw for the chunk, from the key folded with the chunk's first step
            xi = jax.random.normal(jax.random.fold_in(key, n0), (CHUNK,) + x.shape, x.dtype)

            def one(i, c):
                x, arrived = c
                out = arrived < 0
                xn = x - (dt / gamma) * grad(x) + scale * xi[i]
                x = jnp.where(out[:, None], xn, x)
                n = n0 + i + 1
                hit = out & (jnp.sum((x - b) ** 2, axis=1) <= r2) & (n <= max_steps)
                return x, jnp.where(hit, n, arrived)

            x, arrived = lax.fori_loop(0, CHUNK, one, (x, arrived))
            return x, arrived, n0 + CHUNK, jnp.all(jnp.isfinite(x))

        def go(state):
            _, arrived, n, finite = state
            return (jnp.sum(arrived < 0) > stop_at) & (n < max_steps) & finite

        return lax.while_loop(go, chunk, (x, arrived, step, jnp.array(True)))

    return run


def escape_rate(
    V: Potential,
    a: Any,
    b: Any,
    kT: float,
    *,
    n_walkers: int = 1024,
    dt: float | None = None,
    max_time: float | None = None,
    seed: int = 0,
    radius: float | None = None,
    friction: float = 1.0,
) -> EscapeEstimate:
    """The rate of escape from minimum a to minimum b measured by overdamped Langevin dynamics.

    ``n_walkers`` walkers start at a and follow dx = −∇V/γ dt + √(2kT/γ) dW by Euler–Maruyama
    (as :func:`langevin`); each stops at its first passage into the target, the ball
    |x − b| ≤ ``radius``. The estimate is k = 1/⟨τ⟩, ⟨τ⟩ the mean of the first-passage times τ,
    with standard errors std(τ)/√n for ⟨τ⟩ and std(τ)/(√n ⟨τ⟩²) for k.

    Why this measures the Kramers rate: the mean first-passage time from a to a point x_f
    equals 1/k when x_f lies past the saddle where the walkers are committed to b (the
    committor, the chance to reach b before a, is ≈ 1); to the saddle itself it would be 1/(2k).
    The default radius, a quarter of |a − b|, puts the edge of the ball well down the far side
    of a saddle that lies about midway between the minima, several kT below it at the
    temperatures where the harmonic formulas hold. Pass a smaller ``radius`` when the saddle is
    closer to b. The time to fall from the saddle into the ball, and to leave the bottom of a,
    adds O(relaxation time · k) to ⟨τ⟩, negligible for a barrier of several kT.

    The loop runs compiled, CHUNK steps between checks, until every walker has arrived or
    ``max_time`` is reached; as walkers arrive, the rest are compacted into smaller batches.
    Walkers still out at ``max_time`` would bias ⟨τ⟩ low (censoring): that is an error, not a
    result.

    Args:
        V: the potential.
        a: the start minimum, a :class:`~steepest.landscape.CriticalPoint` or coordinates
            (Newton-polished).
        b: the target minimum, the same.
        kT: the thermal energy, > 0.
        n_walkers: how many walkers; the relative error of k is ≈ 1/√n_walkers.
        dt: the step; default DT_FRACTION (5 %) of the explicit stability limit 2γ/λ_max, λ_max
            the largest Hessian eigenvalue at a (and at most a quarter of that limit at b, where
            only stability matters). Euler–Maruyama biases rates by O(dt).
        max_time: stop there; default MAX_STEPS (10⁶) steps of dt.
        seed: the seed of the noise.
        radius: the radius of the target ball around b; default RADIUS_FRACTION · |a − b|.
        friction: γ > 0.

    Raises:
        ScenarioError: a or b not a minimum, a bad setting, a radius that reaches a.
        ConvergenceError: not every walker arrived by ``max_time``; its ``result`` is the
            censored :class:`EscapeEstimate` (``times`` inf where not arrived, k and mfpt NaN).
        FlowDiverged: a walker became NaN or inf (dt too large).
    """
    V = _check_potential(V)
    kT = _positive("kT", kT, "0.1")
    gamma = _positive("friction", friction, "1.0")
    n_walkers = _count("n_walkers", n_walkers, "1024")
    seed = _seed(seed)
    A = _critical(V, a, "a", 0)
    B = _critical(V, b, "b", 0)
    distance = float(np.linalg.norm(B.x - A.x))
    if distance == 0.0:
        raise ScenarioError(
            f"b: a and b are the same minimum {_fmt(A.x)}; pass two different minima.", key="b"
        )
    # Euler–Maruyama is stable near a minimum for dt < 2γ/λ_max there; the rate is made at a
    # and over the saddle, so accuracy asks dt ≪ the limit at a, while b only has to be stable
    limit_a = 2.0 * gamma / float(A.eigenvalues[-1])
    limit = min(limit_a, 2.0 * gamma / float(B.eigenvalues[-1]))
    default_dt = min(DT_FRACTION * limit_a, 0.25 * limit)
    if dt is None:
        dt = default_dt
    else:
        dt = _positive("dt", dt, f"{default_dt:.3g}")
        if dt >= limit:
            raise ScenarioError(
                f"dt: {dt:g} is beyond the Euler–Maruyama stability limit 2γ/λ_max = "
                f"{limit:.3g} at the minima; use dt ≈ {default_dt:.3g} for accurate rates.",
                key="dt",
            )
    if radius is None:
        radius = RADIUS_FRACTION * distance
    else:
        radius = _positive("radius", radius, f"{RADIUS_FRACTION * distance:.3g}")
        if radius >= distance:
            raise ScenarioError(
                f"radius: {radius:g} reaches the start a, {distance:.6g} from b; pass a radius "
                f"well below that, e.g. {RADIUS_FRACTION * distance:.3g}.",
                key="radius",
            )
    if max_time is None:
        max_steps = MAX_STEPS
    else:
        max_time = _positive("max_time", max_time, "1000.0")
        max_steps = max(1, math.ceil(max_time / dt))
    max_time = max_steps * dt

    kernel = _kernel(V, "escape", _build_escape)
    key = jax.random.key(seed)
    times = np.full(n_walkers, -1, dtype=np.int64)
    ids = np.arange(n_walkers)  # the walkers still out, in batch order
    x = np.tile(A.x, (n_walkers, 1))
    step = 0
    t0 = time.perf_counter()
    while True:
        size = max(MIN_BUCKET, 1 << (len(ids) - 1).bit_length())
        pad = size - len(ids)
        # padding walkers sit at b, marked arrived, so they never move or count
        xb = np.concatenate([x, np.tile(B.x, (pad, 1))])
        arr = np.concatenate([np.full(len(ids), -1, np.int64), np.zeros(pad, np.int64)])
        stop_at = size // 4 if size > MIN_BUCKET else 0
        out = kernel(
            xb, arr, key, step, max_steps, stop_at, dt, kT, gamma, B.x, radius**2
        )  # fmt: skip
        xb, arr, n, finite = (np.asarray(v) for v in out)
        step = int(n)
        arr, xb = arr[: len(ids)], xb[: len(ids)]
        if not finite:
            w = int(ids[np.argmax(~np.all(np.isfinite(xb), axis=1))])
            raise FlowDiverged(
                f"escape_rate: walker {w} became non-finite by t = {step * dt:.6g}; dt = {dt:g} "
                f"is too large for the stiffness of V away from the minima: pass a smaller dt.",
                step=step,
                sample=w,
                stability_limit=limit,
            )
        times[ids[arr >= 0]] = arr[arr >= 0]
        keep = arr < 0
        ids, x = ids[keep], xb[keep]
        if len(ids) == 0 or step >= max_steps:
            break
    wall = time.perf_counter() - t0

    arrived = times >= 0
    tau = np.where(arrived, times * dt, np.inf)
    n_arrived = int(arrived.sum())
    common: dict[str, Any] = dict(
        n_walkers=n_walkers, n_arrived=n_arrived, times=tau, a=A, b=B, radius=float(radius),
        dt=float(dt), kT=kT, friction=gamma, max_time=float(max_time), seed=int(seed),
        n_steps=min(step, max_steps), wall_s=wall,
    )  # fmt: skip
    if n_arrived < n_walkers:
        # the exponential maximum-likelihood rate with censoring, only to suggest a max_time
        total = float(np.sum(np.minimum(tau, max_time)))
        k_guess = n_arrived / total if n_arrived else 1.0 / total
        need = max((math.log(n_walkers) + 3.0) / k_guess, 2.0 * max_time)
        nan = float("nan")
        partial = EscapeEstimate(k=nan, k_stderr=nan, mfpt=nan, mfpt_stderr=nan, **common)
        raise ConvergenceError(
            f"escape_rate: only {n_arrived} of {n_walkers} walkers reached b within max_time = "
            f"{max_time:.6g}, and a mean over those would bias the rate high; raise max_time "
            f"to about {need:.3g} (or lower the barrier over kT).",
            result=partial,
        )
    mfpt = float(np.mean(tau))
    se = float(np.std(tau, ddof=1) / math.sqrt(n_walkers)) if n_walkers > 1 else float("inf")
    return EscapeEstimate(k=1.0 / mfpt, k_stderr=se / mfpt**2, mfpt=mfpt, mfpt_stderr=se, **common)
