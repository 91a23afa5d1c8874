"""Free-energy functionals F[c] = ∫ f(c, ∇c) dV, discretised so that δF/δc is exact.

The discrete energy is a function of the grid values; its gradient (by autodiff) divided by the
cell volume is the discrete chemical potential μ = δF/δc. So every flow built on it dissipates
exactly the energy that is recorded, and the gradient term ½κ|∇c|² has the grid's own Laplacian
as its variation (μ = f′(c) − κΔc).

Two kinds:

* :class:`GradientFunctional` — a bulk density plus a gradient term, f = f₀(c, x) + ½κ|∇c|²
  (Dirichlet, Ginzburg–Landau, PFHub benchmark 1, entropy + potential, porous medium, or your own
  f₀). These are what the semi-implicit, exponential, convex-splitting and SAV schemes need: the
  stiff part −κΔ is linear.
* :class:`Density` — any f(c, ∇c, x) written in JAX; on a finite-volume grid f is averaged over
  the 2ᵈ one-sided gradients of each cell (for f = ½|∇c|² this is exactly the face sum, so the
  variation is the grid Laplacian). Explicit schemes only.

References:
    J. W. Cahn & J. E. Hilliard, J. Chem. Phys. 28 (1958) 258 (gradient free energy).
    S. M. Allen & J. W. Cahn, Acta Metall. 27 (1979) 1085.
    A. M. Jokisaari et al., Comput. Mater. Sci. 126 (2017) 139 (PFHub benchmark 1).
    R. Jordan, D. Kinderlehrer & F. Otto, SIAM J. Math. Anal. 29 (1998) 1 (entropy + potential).
    F. Otto, Comm. PDE 26 (2001) 101 (porous medium as a Wasserstein flow).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any, Protocol

import jax
import jax.numpy as jnp
import numpy as np

from .._core.errors import ScenarioError
from .grids import FiniteVolumeGrid, Grid

Bulk = Callable[[Any, tuple[Any, ...]], Any]


class Functional:
    """F[c] = ∫ f dV on a grid; ``energy(grid, c)`` and ``chemical_potential(grid, c)``."""

    name = "functional"
    #: the coefficient κ of ½κ|∇c|² when f = f₀(c, x) + ½κ|∇c|², else None
    kappa: float | None = None
    #: whether the field is a density (ρ ≥ 0 required: entropy, porous medium)
    positive = False
    params: dict[str, Any]

    def energy(self, grid: Grid, c: Any, c_hat: Any = None) -> Any:
        raise NotImplementedError

    def chemical_potential(self, grid: Grid, c: Any) -> Any:
        """μ = δF/δc: the gradient of the discrete energy over the cell volume (autodiff)."""
        return jax.grad(lambda u: self.energy(grid, u))(c) / grid.cell_volume

    def formula(self) -> str:
        return self.name

    def mu_text(self) -> str:
        """The chemical potential as text, for the PDE a flow prints."""
        return "δF/δc"

    def check_initial(self, grid: Grid, c: np.ndarray, key: str = "initial") -> None:
        if self.positive and np.any(c < 0):
            i = np.unravel_index(int(np.argmin(c)), c.shape)
            raise ScenarioError(
                f"{key}: {self.name} needs a density ρ ≥ 0, but the initial field is "
                f"{c[i]:.3g} at cell {tuple(int(j) for j in i)}; give a non-negative density.",
                key=key,
            )


class GradientFunctional(Functional):
    """F[c] = ∫ f₀(c, x) + ½κ|∇c|² dV.

    Args:
        bulk: f₀(c, x) → array, elementwise in c; ``x`` is the tuple of coordinate arrays.
        kappa: κ ≥ 0, the gradient-energy coefficient.
        name, text: a short name and the formula of f₀ as text.
        split: optionally (f_convex, f_concave), two bulk densities summing to f₀ with f_convex
            convex and f_concave concave in c (Eyre's convex splitting).
        positive: the field is a density that must stay ≥ 0.
        params: the parameters, stored with results.
    """

    kappa: float

    def __init__(
        self,
        bulk: Bulk,
        kappa: float = 0.0,
        *,
        name: str = "free-energy",
        text: str = "f₀(c)",
        split: tuple[Bulk, Bulk] | None = None,
        positive: bool = False,
        params: dict[str, Any] | None = None,
    ):
        kappa = float(kappa)
        if not np.isfinite(kappa) or kappa < 0:
            raise ScenarioError(
                f"functional.kappa: the gradient coefficient must be ≥ 0, got {kappa}.",
                key="functional.kappa",
            )
        self.bulk = bulk
        self.kappa = kappa
        self.name = name
        self.text = text
        self.split = split
        self.positive = positive
        self.params = dict(params or {}) | {"kappa": kappa}

    def energy(self, grid: Grid, c: Any, c_hat: Any = None) -> Any:
        x = _coords(grid)
        e = grid.integrate(self.bulk(c, x))
        if self.kappa:
            e = e + self.kappa * grid.gradient_energy(c, c_hat)
        return e

    def chemical_potential(self, grid: Grid, c: Any) -> Any:
        """μ = f₀′(c) − κΔc: the same as the autodiff variation of :meth:`energy` (the grid's
        gradient energy has its Laplacian as variation), at a fraction of the cost."""
        mu = self.bulk_derivative(grid, c)
        if self.kappa:
            mu = mu - self.kappa * grid.laplacian(c)
        return mu

    def bulk_energy(self, grid: Grid, c: Any) -> Any:
        return grid.integrate(self.bulk(c, _coords(grid)))

    def bulk_derivative(self, grid: Grid, c: Any, part: Bulk | None = None) -> Any:
        """f₀′(c) (or the derivative of ``part``), elementwise."""
        f = part or self.bulk
        x = _coords(grid)
        return jax.grad(lambda u: jnp.sum(f(u, x)))(c)

    def bulk_curvature(self, grid: Grid, c: Any, part: Bulk | None = None) -> Any:
        """f₀″(c) (or of ``part``), elementwise."""
        f = part or self.bulk
        x = _coords(grid)
        d1 = lambda u: jax.grad(lambda v: jnp.sum(f(v, x)))(u)
        return jax.jvp(d1, (c,), (jnp.ones_like(c),))[1]

    def _curvature_along(self, ndim: int) -> Any:
        """f₀″ at an array of values of c, one compiled function per functional and dimension
        (op by op it costs ~30 small compilations, half a second, at the start of every run).
        A position-dependent f₀ is sampled at the origin: the stabilisation only needs the
        size of the curvature in c."""
        cache = self.__dict__.setdefault("_curvature_fns", {})
        if ndim not in cache:
            one = (jnp.zeros(1),) * ndim
            d1 = jax.grad(lambda v: jnp.sum(self.bulk(v, one)))
            cache[ndim] = jax.jit(jax.vmap(jax.grad(lambda u: d1(u[None])[0])))
        return cache[ndim]

    def curvature_bound(self, grid: Grid, c: np.ndarray, margin: float = 0.1) -> float:
        """L = max |f₀″| over the range of c widened by ``margin`` of its span (and the wells of
        a double well): the Lipschitz constant of f₀′ the stabilisation is sized from."""
        lo, hi = float(np.min(c)), float(np.max(c))
        for v in self.params.get("minima", ()):
            lo, hi = min(lo, v), max(hi, v)
        span = max(hi - lo, 1e-3 * max(abs(lo), abs(hi), 1.0))
        lo, hi = lo - margin * span, hi + margin * span
        if self.positive:
            lo = max(lo, 0.0)
        s = np.linspace(lo, hi, 2001)
        vals = np.asarray(self._curvature_along(grid.ndim)(jnp.asarray(s)))
        vals = vals[np.isfinite(vals)]
        return float(np.max(np.abs(vals))) if vals.size else 0.0

    def formula(self) -> str:
        if self.kappa:
            return f"F = ∫ {self.text} + (κ/2)|∇c|² dV, κ = {self.kappa:g}"
        return f"F = ∫ {self.text} dV"

    def mu_text(self) -> str:
        d = "∂f₀/∂c − κ∇²c" if self.kappa else "∂f₀/∂c"
        return f"{d} with f₀ = {self.text}"


def _coords(grid: Grid) -> tuple[Any, ...]:
    cached = getattr(grid, "_coords_cache", None)
    if cached is None:
        # NumPy, not jax arrays: made inside a trace, a jax array would be a tracer and leak
        cached = tuple(np.asarray(a, dtype=float) for a in grid.coordinates())
        grid._coords_cache = cached  # type: ignore[attr-defined]
    return cached


# -- the built-in functionals --------------------------------------------------------------------
def dirichlet(kappa: float = 1.0) -> GradientFunctional:
    """F = ∫ (κ/2)|∇c|² dV; its L² flow is the heat equation ∂c/∂t = Mκ∇²c."""
    return GradientFunctional(
        lambda c, x: jnp.zeros_like(c),
        kappa,
        name="dirichlet",
        text="0",
        split=(lambda c, x: jnp.zeros_like(c), lambda c, x: jnp.zeros_like(c)),
    )


def ginzburg_landau(
    kappa: float = 1.0, height: float = 0.25, minima: tuple[float, float] = (-1.0, 1.0)
) -> GradientFunctional:
    """F = ∫ h (c − a)²(b − c)² + (κ/2)|∇c|² dV (the double well with minima a, b, height h).

    The defaults give ¼(1 − c²)² + ½|∇c|², whose 1-D minimiser is the kink tanh(x/√2). Eyre's
    split writes s = c − (a + b)/2, δ = (b − a)/2: f₀ = h s⁴ + hδ⁴ (convex) − 2hδ²s² (concave).
    """
    a, b = (float(v) for v in minima)
    h = float(height)
    if not (np.isfinite(h) and h > 0):
        raise ScenarioError(
            f"functional.height: the double-well height must be > 0, got {height}.",
            key="functional.height",
        )
    if not a < b:
        raise ScenarioError(
            f"functional.minima: expected two minima a < b, got {list(minima)}.",
            key="functional.minima",
        )
    mid, half = 0.5 * (a + b), 0.5 * (b - a)

    def bulk(c, x):
        return h * (c - a) ** 2 * (b - c) ** 2

    def convex(c, x):
        s = c - mid
        return h * s**4 + h * half**4

    def concave(c, x):
        s = c - mid
        return -2.0 * h * half**2 * s**2

    text = f"{h:g}(c − {a:g})²({b:g} − c)²".replace("− -", "+ ")
    return GradientFunctional(
        bulk,
        kappa,
        name="ginzburg-landau",
        text=text,
        split=(convex, concave),
        params={"height": h, "minima": (a, b)},
    )


#: PFHub benchmark 1 parameters (Jokisaari et al. 2017)
PFHUB1 = {"c_alpha": 0.3, "c_beta": 0.7, "rho": 5.0, "kappa": 2.0, "M": 5.0, "c0": 0.5, "eps": 0.01}


def pfhub1() -> GradientFunctional:
    """The PFHub benchmark-1 free energy F = ∫ ρ(c − c_α)²(c_β − c)² + (κ/2)|∇c|² dV with
    ρ = 5, c_α = 0.3, c_β = 0.7, κ = 2."""
    p = PFHUB1
    f = ginzburg_landau(p["kappa"], p["rho"], (p["c_alpha"], p["c_beta"]))
    f.name = "pfhub-1"
    return f


def pfhub1_initial(grid: Grid, variant: str = "a") -> np.ndarray:
    """The PFHub benchmark-1 initial condition c₀ + ε[cos(0.105x)cos(0.11y) +
    (cos(0.13x)cos(0.087y))² + cos(0.025x − 0.15y)cos(0.07x − 0.02y)] (c₀ = 0.5, ε = 0.01) at
    the grid points (not periodic on [0, 200]², as the benchmark specifies)."""
    if grid.ndim != 2:
        raise ScenarioError(
            f"initial.kind: the PFHub benchmark-1 initial condition is 2-D, but the grid has "
            f"{grid.ndim} axes; use field.shape = [n, n].",
            key="initial.kind",
        )
    x, y = grid.coordinates()
    e = PFHUB1["eps"]
    return PFHUB1["c0"] + e * (
        np.cos(0.105 * x) * np.cos(0.11 * y)
        + (np.cos(0.13 * x) * np.cos(0.087 * y)) ** 2
        + np.cos(0.025 * x - 0.15 * y) * np.cos(0.07 * x - 0.02 * y)
    )


class EntropyPotential(Protocol):
    """What :func:`entropy_potential` attaches to its functional: V(x) and kT."""

    potential: Callable[..., Any]
    kT: float


def entropy_potential(potential: Any = None, kT: float = 1.0) -> GradientFunctional:
    """F = ∫ kT ρ log ρ + ρ V(x) dV; its Wasserstein flow is Fokker–Planck
    ∂ρ/∂t = ∇·(M kT ∇ρ + Mρ∇V), with equilibrium ρ ∝ e^{−V/kT}.

    ``potential`` is a function of the coordinate arrays ``(x, y, …)`` (JAX), or None (V = 0).
    """
    kT = float(kT)
    if not (np.isfinite(kT) and kT > 0):
        raise ScenarioError(f"functional.kT: kT must be > 0, got {kT}.", key="functional.kT")
    V = potential if potential is not None else (lambda *x: 0.0 * x[0])

    def bulk(rho, x):
        return kT * jax.scipy.special.xlogy(rho, rho) + rho * V(*x)

    f = GradientFunctional(
        bulk,
        0.0,
        name="entropy-potential",
        text="kT ρ log ρ + ρ V(x)",
        split=(bulk, lambda rho, x: jnp.zeros_like(rho)),
        positive=True,
        params={"kT": kT},
    )
    f.potential = V  # type: ignore[attr-defined]
    f.kT = kT  # type: ignore[attr-defined]
    return f


def porous_medium(m: float = 2.0) -> GradientFunctional:
    """F = ∫ ρ^m/(m − 1) dV (m > 1); its Wasserstein flow is ∂ρ/∂t = Δ(ρ^m)."""
    m = float(m)
    if not (np.isfinite(m) and m > 1):
        raise ScenarioError(
            f"functional.m: the porous-medium exponent must be > 1, got {m}.", key="functional.m"
        )

    def bulk(rho, x):
        return jnp.maximum(rho, 0.0) ** m / (m - 1.0)

    return GradientFunctional(
        bulk,
        0.0,
        name="porous-medium",
        text=f"ρ^{m:g}/({m:g} − 1)",
        split=(bulk, lambda rho, x: jnp.zeros_like(rho)),
        positive=True,
        params={"m": m},
    )


class Density(Functional):
    """F = ∫ f(c, ∇c, x) dV for any JAX density f(c, grad, x) (``grad`` a tuple, one array per
    axis; ``x`` the tuple of coordinates).

    Spectral grid: ∇c by FFT at the nodes. Finite-volume grid: each cell averages f over the 2ᵈ
    choices of one-sided differences (low or high face per axis), so a quadratic gradient
    energy is exactly the face sum and its variation the grid Laplacian.

    Examples:
        >>> import jax.numpy as jnp
        >>> F = Density(lambda c, g, x: 0.25 * (c**2 - 1) ** 2 + 0.5 * sum(gi**2 for gi in g))
    """

    def __init__(
        self,
        f: Callable[[Any, tuple[Any, ...], tuple[Any, ...]], Any],
        *,
        name: str = "density",
        text: str = "f(c, ∇c)",
        positive: bool = False,
    ):
        if not callable(f):
            raise ScenarioError(
                "functional.density: expected a function f(c, grad, x) written in JAX.",
                key="functional.density",
            )
        self.f = f
        self.name = name
        self.text = text
        self.positive = positive
        self.params = {}

    def energy(self, grid: Grid, c: Any, c_hat: Any = None) -> Any:
        x = _coords(grid)
        if not isinstance(grid, FiniteVolumeGrid):
            return grid.integrate(self.f(c, grid.grad(c), x))
        faces = grid.grad(c)
        lows, highs = [], []
        for a, g in enumerate(faces):
            n = grid.shape[a]
            if grid.boundary[a] == "periodic":
                lows.append(g)
                highs.append(jnp.roll(g, -1, axis=a))
            else:
                lows.append(jnp.take(g, jnp.arange(n), axis=a))
                highs.append(jnp.take(g, jnp.arange(1, n + 1), axis=a))
        total = 0.0
        for choice in itertools.product((0, 1), repeat=grid.ndim):
            gr = tuple(highs[a] if s else lows[a] for a, s in enumerate(choice))
            total = total + self.f(c, gr, x)
        return grid.integrate(total / 2**grid.ndim)

    def formula(self) -> str:
        return f"F = ∫ {self.text} dV"
