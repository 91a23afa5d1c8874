"""Field gradient flows ∂c/∂t = −G⁻¹ δF/δc in three metrics.

* :class:`L2Flow` — ∂c/∂t = −M μ (heat flow of the Dirichlet energy; Allen–Cahn of a double well).
* :class:`HMinus1Flow` — ∂c/∂t = ∇·(M(c)∇μ) (Cahn–Hilliard; conserves ∫c).
* :class:`WassersteinFlow` — ∂ρ/∂t = ∇·(Mρ∇μ) (Fokker–Planck of entropy + potential, the porous
  medium equation of ∫ρ^m/(m − 1)), by positivity-preserving finite volumes: the
  Scharfetter–Gummel flux for entropy + potential, the Carrillo–Chertock–Huang upwind flux for
  any other functional.

μ = δF/δc is the chemical potential of the functional. Each flow prints the PDE it solves
(:meth:`FieldFlow.expression`) and exposes its flux field J (:meth:`FieldFlow.flux`), so that
∂c/∂t = −∇·J for the conserved flows.

References:
    F. Otto, Comm. PDE 26 (2001) 101 (the Wasserstein gradient flow structure).
    J. W. Cahn & J. E. Hilliard, J. Chem. Phys. 28 (1958) 258.
    J. W. Cahn, Acta Metall. 9 (1961) 795 (spinodal decomposition).
"""

from __future__ import annotations

import warnings
from typing import Any, cast

import jax.numpy as jnp
import numpy as np

from .._core.errors import ScenarioError
from . import operators as ops
from .functionals import EntropyPotential, Functional, GradientFunctional
from .grids import FiniteVolumeGrid, Grid, SpectralGrid

#: a seam jump this many times the largest step between neighbours inside calls a field
#: non-periodic
PERIODICITY_RATIO = 3.0


class NonPeriodicWarning(UserWarning):
    """Initial data on a spectral (periodic) grid that is not periodic: its Fourier series rings."""


def _mobility(mobility: Any) -> tuple[Any, float | None]:
    if callable(mobility):
        return mobility, None
    try:
        m = float(mobility)
    except (TypeError, ValueError):
        raise ScenarioError(
            f"flow.mobility: expected a positive number or a function M(c), got {mobility!r}.",
            key="flow.mobility",
        ) from None
    if not np.isfinite(m) or m <= 0:
        raise ScenarioError(
            f"flow.mobility: the mobility must be > 0 (it sets the rate of descent), got {m:g}.",
            key="flow.mobility",
        )
    return None, m


class FieldFlow:
    """A gradient flow of a functional on a grid, in a metric (base class)."""

    metric = ""
    conserves_mass = False

    def __init__(self, grid: Grid, functional: Functional, mobility: Any = 1.0):
        if not isinstance(grid, Grid):
            raise ScenarioError(
                f"grid: expected a SpectralGrid or FiniteVolumeGrid, got {type(grid).__name__}.",
                key="grid",
            )
        if not isinstance(functional, Functional):
            raise ScenarioError(
                "functional: expected a steepest.fields functional (e.g. fields.pfhub1()), got "
                f"{type(functional).__name__}.",
                key="functional",
            )
        self.grid = grid
        self.functional = functional
        self.mobility_fn, self.mobility_const = _mobility(mobility)
        self._kernels: dict[Any, Any] = {}

    # -- physics -----------------------------------------------------------------------------
    def energy(self, c: Any, c_hat: Any = None) -> Any:
        return self.functional.energy(self.grid, c, c_hat)

    def chemical_potential(self, c: Any) -> Any:
        return self.functional.chemical_potential(self.grid, c)

    def mobility_field(self, c: Any) -> Any:
        return self.mobility_const if self.mobility_fn is None else self.mobility_fn(c)

    def velocity(self, c: Any) -> Any:
        """∂c/∂t at c."""
        raise NotImplementedError

    def flux(self, c: Any) -> tuple[Any, ...]:
        """The flux field J (faces of a finite-volume grid, nodes of a spectral grid)."""
        raise ScenarioError(
            f"flux: the {self.metric} flow is not a conservation law, so it has no flux field; "
            "the H⁻¹ and Wasserstein flows and the transport models have one.",
            key="flux",
        )

    def mass(self, c: Any) -> Any:
        return self.grid.integrate(c)

    def mobility_symbol(self) -> np.ndarray:
        """a(k) ≥ 0 with ∂ĉ/∂t = −a(k) μ̂ for a constant mobility (the grid's transform)."""
        raise NotImplementedError

    def _constant_M(self, what: str) -> float:
        if self.mobility_const is None:
            raise ScenarioError(
                f"flow.mobility: {what} needs a constant mobility; this flow has M = M(c).",
                key="flow.mobility",
            )
        return self.mobility_const

    @property
    def constant_mobility(self) -> bool:
        return self.mobility_fn is None

    def explicit_limit(self, c: Any) -> float | None:
        """The largest stable explicit Euler step at c, 2/λ_max of the linearised flow (None when
        it is not known in closed form)."""
        f = self.functional
        if not isinstance(f, GradientFunctional) or not hasattr(self, "_a_symbol"):
            return None
        curv = float(np.max(np.asarray(f.bulk_curvature(self.grid, jnp.asarray(c)))))
        M = self.mobility_const or float(np.max(np.asarray(self.mobility_field(jnp.asarray(c)))))
        a = self._a_symbol(M)
        lam = a * (max(curv, 0.0) - f.kappa * self.grid.laplacian_symbol)
        top = float(np.max(lam))
        return 2.0 / top if top > 0 else None

    # -- input -------------------------------------------------------------------------------
    def check_initial(self, c0: Any, key: str = "initial") -> np.ndarray:
        """A float64 copy of c0 checked for shape, finiteness, sign, mobility and periodicity."""
        c = self.grid.check_field(c0, key)
        self.functional.check_initial(self.grid, c, key)
        if self.mobility_fn is not None:
            m = np.asarray(self.mobility_fn(jnp.asarray(c)))
            if m.shape != c.shape and m.size != 1:
                raise ScenarioError(
                    f"flow.mobility: M(c) must return one value per cell, got shape {m.shape}.",
                    key="flow.mobility",
                )
            if not np.all(np.isfinite(m)) or np.any(m < 0) or not np.any(m > 0):
                raise ScenarioError(
                    "flow.mobility: M(c) must be ≥ 0 everywhere and > 0 somewhere on the initial "
                    f"field, got values in [{np.nanmin(m):.3g}, {np.nanmax(m):.3g}].",
                    key="flow.mobility",
                )
        if isinstance(self.grid, SpectralGrid):
            ratio = self.grid.periodicity_jump(c)
            if ratio > PERIODICITY_RATIO:
                warnings.warn(
                    f"{key}: the initial field is not periodic on the spectral grid (the jump "
                    f"across the seam is {ratio:.1f}× the largest step between neighbours "
                    "inside), so its Fourier series rings near the seam; use a finite-volume "
                    "grid for non-periodic data, or accept it where a benchmark specifies it "
                    "(PFHub 1a).",
                    NonPeriodicWarning,
                    stacklevel=3,
                )
        return c

    def _text_M(self) -> str:
        return f"M = {self.mobility_const:g}" if self.mobility_fn is None else "M = M(c)"

    def expression(self) -> str:
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "functional": self.functional.name,
            "formula": self.functional.formula(),
            "pde": self.expression(),
            "mobility": self.mobility_const if self.mobility_fn is None else "M(c)",
            "grid": self.grid.describe(),
        }

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.expression()})"


class L2Flow(FieldFlow):
    """The L² gradient flow ∂c/∂t = −M(c) δF/δc (heat flow, Allen–Cahn)."""

    metric = "L2"

    def velocity(self, c: Any) -> Any:
        return -self.mobility_field(c) * self.chemical_potential(c)

    def _a_symbol(self, M: float) -> np.ndarray:
        return np.full(self.grid.spectral_shape, M)

    def mobility_symbol(self) -> np.ndarray:
        return self._a_symbol(self._constant_M("mobility_symbol"))

    def expression(self) -> str:
        f = self.functional
        if (
            f.name == "dirichlet"
            and isinstance(f, GradientFunctional)
            and self.mobility_const is not None  # i.e. mobility_fn is None
        ):
            return (
                f"∂c/∂t = D∇²c, D = Mκ = {self.mobility_const * f.kappa:g} (heat equation: "
                "the L² flow of the Dirichlet energy)"
            )
        name = " (Allen–Cahn)" if f.name in ("ginzburg-landau", "pfhub-1") else ""
        return f"∂c/∂t = −M μ, μ = δF/δc = {f.mu_text()}, {self._text_M()}{name}; {f.formula()}"


class HMinus1Flow(FieldFlow):
    """The H⁻¹ gradient flow ∂c/∂t = ∇·(M(c)∇μ), J = −M∇μ (Cahn–Hilliard; conserves ∫c).

    On a finite-volume grid M is averaged onto the faces; bounded axes must be no-flux (∇μ·n = 0
    and, through the gradient term, ∇c·n = 0), so that no mass crosses the boundary.
    """

    metric = "H-1"
    conserves_mass = True

    def __init__(self, grid: Grid, functional: Functional, mobility: Any = 1.0):
        super().__init__(grid, functional, mobility)
        bad = [b for b in grid.boundary if b not in ("periodic", "no-flux")]
        if bad:
            raise ScenarioError(
                f"field.boundary: the H⁻¹ (Cahn–Hilliard) flow conserves mass, so its boundaries "
                f"must be periodic or no-flux, got {list(grid.boundary)}.",
                key="field.boundary",
            )

    def flux(self, c: Any) -> tuple[Any, ...]:
        return ops.flux(self.grid, self.chemical_potential(c), self.mobility_field(c))

    def velocity(self, c: Any) -> Any:
        mu = self.chemical_potential(c)
        if self.mobility_fn is None:
            return self.mobility_const * self.grid.laplacian(mu)
        return -self.grid.div(ops.flux(self.grid, mu, self.mobility_field(c)))

    def _a_symbol(self, M: float) -> np.ndarray:
        return -M * self.grid.laplacian_symbol

    def mobility_symbol(self) -> np.ndarray:
        return self._a_symbol(self._constant_M("mobility_symbol"))

    def expression(self) -> str:
        f = self.functional
        name = " (Cahn–Hilliard)" if f.kappa else ""
        return f"∂c/∂t = ∇·(M∇μ), μ = δF/δc = {f.mu_text()}, {self._text_M()}{name}; {f.formula()}"


WASSERSTEIN_SCHEMES = ("scharfetter-gummel", "upwind")


class WassersteinFlow(FieldFlow):
    """The Wasserstein gradient flow ∂ρ/∂t = ∇·(Mρ∇μ), μ = δF/δρ, J = −Mρ∇μ.

    Finite volumes keep ρ ≥ 0 and ∫ρ exactly:

    * ``"scharfetter-gummel"`` (the default for :func:`~steepest.fields.entropy_potential`): the
      exponentially fitted flux of ∇·(M kT∇ρ + Mρ∇V), whose discrete equilibrium is exactly the
      Boltzmann density e^{−V/kT}/Z at the cell centres;
    * ``"upwind"`` (the default otherwise, e.g. the porous medium): the Carrillo–Chertock–Huang
      first-order upwind flux of the velocity −M∇μ, which dissipates the discrete free energy.

    Explicit steps are capped at the positivity bound dt ≤ 1/max(outflow rate) of each state.
    """

    metric = "wasserstein"
    conserves_mass = True
    # narrowed by __init__: a finite-volume grid and a constant mobility
    grid: FiniteVolumeGrid
    mobility_const: float

    def __init__(
        self, grid: Grid, functional: Functional, mobility: Any = 1.0, *, flux_scheme: str = "auto"
    ):
        if not isinstance(grid, FiniteVolumeGrid):
            raise ScenarioError(
                "field.discretisation: Wasserstein flows keep ρ ≥ 0 by finite-volume upwinding; "
                'use discretisation = "finite-volume" (FiniteVolumeGrid).',
                key="field.discretisation",
            )
        super().__init__(grid, functional, mobility)
        if self.mobility_fn is not None:
            raise ScenarioError(
                "flow.mobility: a Wasserstein flow takes a constant mobility (the metric is "
                "weighted by ρ already); give a number.",
                key="flow.mobility",
            )
        bad = [b for b in grid.boundary if b not in ("periodic", "no-flux")]
        if bad:
            raise ScenarioError(
                f"field.boundary: a Wasserstein flow conserves mass, so its boundaries must be "
                f"periodic or no-flux, got {list(grid.boundary)}.",
                key="field.boundary",
            )
        if not functional.positive:
            raise ScenarioError(
                f"functional.kind: the Wasserstein metric moves a density ρ ≥ 0; {functional.name}"
                " is not a functional of a density (use entropy-potential or porous-medium).",
                key="functional.kind",
            )
        fs = str(flux_scheme).strip().lower()
        sg_ok = functional.name == "entropy-potential"
        if fs == "auto":
            fs = "scharfetter-gummel" if sg_ok else "upwind"
        if fs not in WASSERSTEIN_SCHEMES:
            raise ScenarioError(
                f"flow.flux: unknown flux {flux_scheme!r}; choose from "
                f"{', '.join(WASSERSTEIN_SCHEMES)} or auto.",
                key="flow.flux",
            )
        if fs == "scharfetter-gummel" and not sg_ok:
            raise ScenarioError(
                "flow.flux: the Scharfetter–Gummel flux is for entropy + potential (Fokker–Planck);"
                ' use flux = "upwind" for this functional.',
                key="flow.flux",
            )
        self.flux_scheme = fs
        if sg_ok:
            ep = cast(EntropyPotential, functional)  # what entropy_potential() attaches
            x = grid.coordinates()
            self._V = np.broadcast_to(np.asarray(ep.potential(*x), dtype=float), grid.shape)
            self._kT = ep.kT

    def flux(self, rho: Any) -> tuple[Any, ...]:
        M = self.mobility_const
        if self.flux_scheme == "scharfetter-gummel":
            return ops.scharfetter_gummel_flux(self.grid, rho, self._V, M * self._kT, M)
        return ops.upwind_flux(self.grid, rho, self.chemical_potential(rho), M)

    def velocity(self, rho: Any) -> Any:
        return -self.grid.div(self.flux(rho))

    def outflow_rate(self, rho: Any) -> Any:
        """The rate (1/time) that bounds a stable, positive explicit step: dt·rate ≤ 1.

        Positivity needs dt ≤ 1/(largest rate at which a cell loses its content). For the
        Scharfetter–Gummel flux that rate already holds the diffusion, D(B(δ) + B(−δ))/dx² ≥
        2D/dx². The upwind flux's rate |u|/dx vanishes where ∇μ does (the top of a porous-medium
        profile), but the linearised flow there is still diffusion with D = Mρf₀″(ρ), stable only
        for dt ≤ 1/Σ_a(2D/dx_a²); the rate is the larger of the two.
        """
        M = self.mobility_const
        if self.flux_scheme == "scharfetter-gummel":
            r = ops.scharfetter_gummel_rate(self.grid, self._V, M * self._kT, M)
            return jnp.max(r)
        r = ops.upwind_rate(self.grid, self.chemical_potential(rho), M)
        f = self.functional
        curv = f.bulk_curvature(self.grid, rho) if isinstance(f, GradientFunctional) else 0.0
        d_eff = jnp.where(rho > 0, M * rho * curv, 0.0)
        diffusive = 2.0 * jnp.max(d_eff) * sum(1.0 / h**2 for h in self.grid.spacing)
        return jnp.maximum(jnp.max(r), diffusive)

    def explicit_limit(self, c: Any) -> float | None:
        rate = float(self.outflow_rate(jnp.asarray(c)))
        return 1.0 / rate if rate > 0 else None

    def expression(self) -> str:
        f = self.functional
        M = self.mobility_const
        if f.name == "entropy-potential":
            return (
                f"∂ρ/∂t = ∇·(M kT∇ρ + Mρ∇V), M = {M:g}, kT = {self._kT:g} (Fokker–Planck: the "
                f"Wasserstein flow of {f.formula()}; {self.flux_scheme} flux)"
            )
        if f.name == "porous-medium":
            m = f.params["m"]
            return (
                f"∂ρ/∂t = M Δ(ρ^{m:g}), M = {M:g} (porous medium: the Wasserstein flow of "
                f"{f.formula()}; {self.flux_scheme} flux)"
            )
        return f"∂ρ/∂t = ∇·(Mρ∇μ), μ = δF/δρ = {f.mu_text()}, M = {M:g}; {f.formula()}"


METRICS = {"l2": L2Flow, "h-1": HMinus1Flow, "wasserstein": WassersteinFlow}
_METRIC_ALIASES = {
    "l2": "l2", "l²": "l2", "allen-cahn": "l2",
    "h-1": "h-1", "h^-1": "h-1", "h⁻¹": "h-1", "hminus1": "h-1", "h-minus-1": "h-1",
    "cahn-hilliard": "h-1",
    "wasserstein": "wasserstein", "w2": "wasserstein", "fokker-planck": "wasserstein",
}  # fmt: skip


def make_flow(metric: str, grid: Grid, functional: Functional, mobility: Any = 1.0, **kw: Any):
    """A flow from its metric name: ``"L2"``, ``"H-1"`` or ``"wasserstein"``."""
    m = _METRIC_ALIASES.get(str(metric).strip().lower())
    if m is None:
        raise ScenarioError(
            f"flow.metric: unknown metric {metric!r}; choose L2 (heat, Allen–Cahn), H-1 "
            "(Cahn–Hilliard) or wasserstein (Fokker–Planck, porous medium).",
            key="flow.metric",
        )
    if m == "wasserstein":
        return WassersteinFlow(grid, functional, mobility, **kw)
    return METRICS[m](grid, functional, mobility)
