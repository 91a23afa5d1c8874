"""Fourier heat conduction and Fick diffusion, and the entropy they produce.

State: a temperature T > 0 and/or a concentration c > 0 on a finite-volume grid::

    C ∂T/∂t = −∇·J_q,   J_q = −k(T, c)∇T          (Fourier; C the heat capacity per volume)
      ∂c/∂t = −∇·J_c,   J_c = −D(c, T)∇c          (Fick; an ideal solution, μ = k_B T log c)

Entropy S = ∫ C log T − k_B c(log c − 1) dV, and its production (non-equilibrium
thermodynamics, de Groot & Mazur 1962)::

    σ = J_q·∇(1/T) − J_c·∇(μ/T) = k|∇T|²/T² + k_B D ∇c·∇log c ≥ 0.

On the faces the discrete σ_f = k_f (ΔT)²/(dx² T_i T_{i+1}) + k_B D_f Δc Δlog c / dx² is a sum of
non-negative terms, and summation by parts gives dS/dt = Σ_f σ_f w_f exactly for insulated
(no-flux) boundaries: the time integral of the total σ is the entropy gained. σ is exposed on
the faces, as a cell field (each face shared between its cells) and as a total.

Time integration by diffrax (Tsit5 with a PID step controller; Kvaerno5, an L-stable ESDIRK,
for very small systems or on request), with the entropy produced integrated alongside the fields and the total σ recorded
at every accepted step.

References:
    S. R. de Groot & P. Mazur, *Non-Equilibrium Thermodynamics*, North-Holland (1962), ch. III–IV.
    L. Onsager, Phys. Rev. 37 (1931) 405.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .._core.errors import ConvergenceError, ScenarioError
from . import operators as ops
from .grids import FiniteVolumeGrid

Coefficient = float | Callable[..., Any]


def _coefficient(v: Any, key: str) -> Coefficient | None:
    if v is None or callable(v):
        return v
    try:
        f = float(v)
    except (TypeError, ValueError):
        raise ScenarioError(f"{key}: expected a number > 0 or a function, got {v!r}.", key=key) from None
    if not np.isfinite(f) or f <= 0:
        raise ScenarioError(f"{key}: the coefficient must be > 0, got {f:g}.", key=key)
    return f


class Transport:
    """Heat conduction and/or diffusion on a finite-volume grid (see the module docstring).

    Args:
        grid: a :class:`~steepest.fields.FiniteVolumeGrid` (its boundaries apply to T and c;
            no-flux is an insulated, closed wall).
        conductivity: k > 0, a number or ``k(T, c)``; None for no heat equation.
        diffusivity: D > 0, a number or ``D(c, T)``; None for no diffusion.
        heat_capacity: C > 0 per unit volume.
        k_B: Boltzmann's constant in the units of the entropy.
        temperature: the uniform temperature of an isothermal diffusion (when conductivity is
            None).

    Examples:
        >>> g = FiniteVolumeGrid((50,), (1.0,), boundary="no-flux")
        >>> rod = Transport(g, conductivity=lambda T, c: T**2)
    """

    def __init__(
        self,
        grid: FiniteVolumeGrid,
        *,
        conductivity: Any = None,
        diffusivity: Any = None,
        heat_capacity: float = 1.0,
        k_B: float = 1.0,
        temperature: float = 1.0,
    ):
        if not isinstance(grid, FiniteVolumeGrid):
            raise ScenarioError(
                "field.discretisation: transport runs on a finite-volume grid (fluxes on faces);"
                " use FiniteVolumeGrid.",
                key="field.discretisation",
            )
        self.grid = grid
        self.k = _coefficient(conductivity, "transport.conductivity")
        self.D = _coefficient(diffusivity, "transport.diffusivity")
        if self.k is None and self.D is None:
            raise ScenarioError(
                "transport: give a conductivity (Fourier), a diffusivity (Fick), or both.",
                key="transport",
            )
        self.C = float(_coefficient(heat_capacity, "transport.heat_capacity"))  # type: ignore[arg-type]
        self.k_B = float(_coefficient(k_B, "transport.k_B"))  # type: ignore[arg-type]
        self.T_iso = float(_coefficient(temperature, "transport.temperature"))  # type: ignore[arg-type]
        self.variables = tuple(v for v, on in (("T", self.k), ("c", self.D)) if on is not None)
        self._kernels: dict[Any, Any] = {}

    # -- fields ---------------------------------------------------------------------------
    def _T(self, y: dict[str, Any]) -> Any:
        return y["T"] if "T" in y else self.T_iso

    def _c(self, y: dict[str, Any]) -> Any:
        return y["c"] if "c" in y else None

    def _coef(self, coef: Coefficient, *args: Any) -> Any:
        if callable(coef):
            return coef(*args)
        return coef

    def fluxes(self, y: dict[str, Any]) -> dict[str, tuple[Any, ...]]:
        """J_q = −k∇T and J_c = −D∇c on the faces (k, D averaged onto them)."""
        g = self.grid
        out = {}
        T, c = self._T(y), self._c(y)
        if self.k is not None:
            k = self._coef(self.k, T, c)
            out["q"] = tuple(
                -(k if jnp.ndim(k) == 0 else ops.to_faces(g, k, a)) * g.grad_axis(y["T"], a)
                for a in range(g.ndim)
            )
        if self.D is not None:
            D = self._coef(self.D, c, T)
            out["c"] = tuple(
                -(D if jnp.ndim(D) == 0 else ops.to_faces(g, D, a)) * g.grad_axis(y["c"], a)
                for a in range(g.ndim)
            )
        return out

    def rates(self, y: dict[str, Any]) -> dict[str, Any]:
        """∂T/∂t = −∇·J_q / C and ∂c/∂t = −∇·J_c."""
        J = self.fluxes(y)
        out = {}
        if "q" in J:
            out["T"] = -self.grid.div(J["q"]) / self.C
        if "c" in J:
            out["c"] = -self.grid.div(J["c"])
        return out

    def entropy(self, y: dict[str, Any]) -> Any:
        """S = ∫ C log T − k_B c (log c − 1) dV."""
        S = 0.0
        if "T" in y:
            S = S + self.grid.integrate(self.C * jnp.log(y["T"]))
        if "c" in y:
            c = y["c"]
            S = S - self.k_B * self.grid.integrate(jax.scipy.special.xlogy(c, c) - c)
        return S

    def energy(self, y: dict[str, Any]) -> Any:
        """The conserved content: ∫ C T dV (and ∫ c dV) when the walls are insulated."""
        return self.grid.integrate(self.C * y["T"]) if "T" in y else self.grid.integrate(y["c"])

    def entropy_production_faces(self, y: dict[str, Any]) -> tuple[Any, ...]:
        """σ on the faces of each axis: J_q·∇(1/T) − J_c·∇(μ/T) with μ/T = k_B log c."""
        g = self.grid
        J = self.fluxes(y)
        sig = [0.0] * g.ndim
        for a in range(g.ndim):
            if "q" in J:
                inv_values = _inverse_values(g, a)
                sig[a] = sig[a] + J["q"][a] * g.grad_axis(1.0 / y["T"], a, inv_values)
            if "c" in J:
                log_values = _log_values(g, a)
                sig[a] = sig[a] - J["c"][a] * self.k_B * g.grad_axis(jnp.log(y["c"]), a, log_values)
        return tuple(sig)

    def entropy_production(self, y: dict[str, Any]) -> tuple[Any, Any]:
        """(σ as a cell field, the total ∫σ dV = Σ_f σ_f w_f)."""
        g = self.grid
        faces = self.entropy_production_faces(y)
        total = sum(jnp.sum(g.face_weights(a) * s) for a, s in enumerate(faces))
        return ops.face_to_cells(g, faces), total

    def check_initial(self, y0: dict[str, Any]) -> dict[str, np.ndarray]:
        if not isinstance(y0, dict) or set(y0) != set(self.variables):
            raise ScenarioError(
                f"initial: expected the fields {', '.join(self.variables)} as a dict, got "
                f"{sorted(y0) if isinstance(y0, dict) else type(y0).__name__}.",
                key="initial",
            )
        out = {}
        for v in self.variables:
            a = self.grid.check_field(y0[v], f"initial.{v}")
            if np.any(a <= 0):
                what = "temperature (absolute, > 0)" if v == "T" else "concentration (> 0)"
                raise ScenarioError(
                    f"initial.{v}: the {what} has values ≤ 0 (min {a.min():.3g}); the entropy "
                    "needs log of it.",
                    key=f"initial.{v}",
                )
            out[v] = a
        return out

    def expression(self) -> str:
        parts = []
        if self.k is not None:
            k = "k(T, c)" if callable(self.k) else f"k = {self.k:g}"
            parts.append(f"C∂T/∂t = ∇·(k∇T), {k}, C = {self.C:g} (Fourier)")
        if self.D is not None:
            D = "D(c, T)" if callable(self.D) else f"D = {self.D:g}"
            parts.append(f"∂c/∂t = ∇·(D∇c), {D} (Fick)")
        return "; ".join(parts) + "; σ = J_q·∇(1/T) − J_c·∇(μ/T) ≥ 0"


def _inverse_values(g: FiniteVolumeGrid, a: int) -> tuple[float, float] | None:
    if g.boundary[a] != "dirichlet":
        return None
    lo, hi = g.dirichlet[a]
    return (1.0 / lo if lo > 0 else np.inf, 1.0 / hi if hi > 0 else np.inf)


def _log_values(g: FiniteVolumeGrid, a: int) -> tuple[float, float] | None:
    if g.boundary[a] != "dirichlet":
        return None
    lo, hi = g.dirichlet[a]
    return (float(np.log(lo)) if lo > 0 else -np.inf, float(np.log(hi)) if hi > 0 else -np.inf)


@dataclass
class TransportSolution:
    """Fields, entropy and entropy production of a transport run.

    Attributes:
        t: the save times; ``fields[v]`` of shape ``(n_save, *grid.shape)``.
        entropy: S at the save times; ``produced``: ∫₀ᵗ σ_total dt' integrated with the fields.
        sigma_total: σ_total at the save times; ``sigma_steps``: σ_total at every accepted step.
        content: ∫ C T dV (or ∫ c dV) at the save times.
    """

    t: np.ndarray
    fields: dict[str, np.ndarray]
    entropy: np.ndarray
    produced: np.ndarray
    sigma_total: np.ndarray
    sigma_steps: np.ndarray
    content: np.ndarray
    model: Transport = field(repr=False)
    stats: dict[str, Any] = field(default_factory=dict)

    def sigma_field(self, i: int = -1) -> np.ndarray:
        y = {v: jnp.asarray(a[i]) for v, a in self.fields.items()}
        return np.asarray(self.model.entropy_production(y)[0])


def solve_transport(
    model: Transport,
    y0: dict[str, Any],
    t1: float,
    *,
    n_save: int = 51,
    rtol: float = 1e-8,
    atol: float = 1e-10,
    solver: str = "auto",
    max_steps: int = 1_000_000,
) -> TransportSolution:
    """Integrate the transport model to ``t1`` with diffrax (adaptive, stiff when small)."""
    import diffrax

    y0 = model.check_initial(y0)
    size = sum(a.size for a in y0.values())
    name = solver if solver != "auto" else ("kvaerno5" if size <= 64 else "tsit5")
    solvers = {"kvaerno5": diffrax.Kvaerno5, "tsit5": diffrax.Tsit5}
    if name not in solvers:
        raise ScenarioError(
            f"transport.solver: unknown solver {solver!r}; choose auto, kvaerno5 or tsit5.",
            key="transport.solver",
        )
    if not (np.isfinite(t1) and t1 > 0):
        raise ScenarioError(f"transport.t1: the end time must be > 0, got {t1}.", key="transport.t1")

    key = (name, float(rtol), float(atol), int(max_steps))
    run = model._kernels.get(key)
    if run is None:
        run = jax.jit(_build_solve(model, solvers[name], rtol, atol, int(max_steps)))
        model._kernels[key] = run
    y = {v: jnp.asarray(a) for v, a in y0.items()} | {"produced": jnp.asarray(0.0)}
    ts = np.linspace(0.0, float(t1), int(n_save))
    sol = run(y, jnp.asarray(ts))
    if sol.result != diffrax.RESULTS.successful:
        raise ConvergenceError(
            f"transport: diffrax stopped before t1 = {t1:g} ({sol.result}); raise max_steps or "
            "loosen rtol.",
            result=sol,
        )
    saved, steps = sol.ys
    fields = {v: np.asarray(saved[v]) for v in model.variables}
    sig_steps = np.asarray(steps)
    sig_steps = sig_steps[np.isfinite(sig_steps)]  # diffrax pads unused step slots with inf
    ent, tot, content = [], [], []
    for i in range(len(ts)):
        yi = {v: jnp.asarray(a[i]) for v, a in fields.items()}
        ent.append(float(model.entropy(yi)))
        tot.append(float(model.entropy_production(yi)[1]))
        content.append(float(model.energy(yi)))
    return TransportSolution(
        t=ts,
        fields=fields,
        entropy=np.asarray(ent),
        produced=np.asarray(saved["produced"]),
        sigma_total=np.asarray(tot),
        sigma_steps=sig_steps,
        content=np.asarray(content),
        model=model,
        stats={"solver": name, "steps": int(sol.stats["num_accepted_steps"])},
    )


def _build_solve(model: Transport, solver: Any, rtol: float, atol: float, max_steps: int):
    import diffrax

    def rhs(t, y, args):
        fields = {v: y[v] for v in model.variables}
        d = model.rates(fields)
        d["produced"] = model.entropy_production(fields)[1]
        return d

    def sigma_of(t, yy, args):
        return model.entropy_production({v: yy[v] for v in model.variables})[1]

    def run(y, ts):
        saveat = diffrax.SaveAt(
            subs=[diffrax.SubSaveAt(ts=ts), diffrax.SubSaveAt(steps=True, fn=sigma_of)]
        )
        return diffrax.diffeqsolve(
            diffrax.ODETerm(rhs),
            solver(),
            ts[0],
            ts[-1],
            None,
            y,
            saveat=saveat,
            stepsize_controller=diffrax.PIDController(rtol=rtol, atol=atol),
            max_steps=max_steps,
            throw=False,
        )

    return run
