"""Fourier heat conduction and Fick diffusion, and the entropy they produce.

State: a temperature T > 0 and/or concentrations c_k > 0 of dilute species on a finite-volume
grid::

    C ∂T/∂t = −∇·J_q,    J_q = −k(T, c)∇T          (Fourier; C the heat capacity per volume)
    ∂c_k/∂t = −∇·J_k,    J_k = −D_k(c_k, T)∇c_k      (Fick; ideal solution, μ_k = k_B T log c_k)

Entropy S = ∫ C log T − k_B Σ_k c_k(log c_k − 1) dV, and its production (non-equilibrium
thermodynamics, de Groot & Mazur 1962, ch. III–IV)::

    σ = J_q·∇(1/T) − Σ_k J_k·∇(μ_k/T) = k|∇T|²/T² + k_B Σ_k D_k ∇c_k·∇log c_k ≥ 0.

On a face f between cells i and i+1 the discrete terms are k_f (ΔT)²/(dx² T_i T_{i+1}) and
k_B D_f Δc Δlog c / dx², each ≥ 0 (log is increasing), and summation by parts gives
dS/dt = Σ_f w_f σ_f exactly on insulated, closed (no-flux) walls: the time integral of the total
σ is the entropy the rod gains. σ is exposed per face, as a cell field and as a total; the fluxes
J_q, J_k per face and at the cell centres (for arrows).

Time integration: the Dormand–Prince 5(4) pair with a PI step controller (Hairer, Nørsett &
Wanner, *Solving ODEs I*, §II.4–5; Gustafsson 1991), one compiled ``lax.while_loop`` per
interval between save times, with the entropy produced ∫σ dt integrated alongside the fields at
the same order. Every accepted step records min σ (total and per face), so "σ ≥ 0 at every
step" is checked, not assumed; a trial step that would make T or c non-positive is rejected and
retried smaller. (diffrax's Tsit5 did the same job here but took 4–10 s to compile per model;
this loop compiles in under a second, and tolerances are run-time arguments.)

References:
    S. R. de Groot & P. Mazur, *Non-Equilibrium Thermodynamics*, North-Holland (1962).
    L. Onsager, Phys. Rev. 37 (1931) 405.
    J. R. Dormand & P. J. Prince, J. Comput. Appl. Math. 6 (1980) 19.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from .._core.errors import ConvergenceError, ScenarioError
from . import operators as ops
from .grids import FiniteVolumeGrid

if TYPE_CHECKING:
    import xarray as xr

Coefficient = float | Callable[..., Any]


def _coefficient(v: Any, key: str) -> Coefficient | None:
    if v is None or callable(v):
        return v
    try:
        f = float(v)
    except (TypeError, ValueError):
        raise ScenarioError(
            f"{key}: expected a number > 0 or a function, got {v!r}.", key=key
        ) from None
    if isinstance(v, bool) or not math.isfinite(f) or f <= 0:
        raise ScenarioError(f"{key}: the coefficient must be a number > 0, got {v!r}.", key=key)
    return f


class Transport:
    """Heat conduction and/or diffusion of dilute species on a finite-volume grid.

    Args:
        grid: a :class:`~steepest.fields.FiniteVolumeGrid`; its boundaries apply to every field
            (no-flux is an insulated, closed wall; Dirichlet holds T at the grid's values).
        conductivity: k > 0, a number or ``k(T, c)`` (``c`` the first species, or None);
            None for no heat equation (isothermal diffusion at ``temperature``).
        diffusivity: D > 0, a number or ``D(c, T)``, or a list of them, one per species
            (fields ``c1``, ``c2``, …; a single one is ``c``); None for no diffusion.
        heat_capacity: C > 0 per unit volume.
        k_B: Boltzmann's constant in the units of the entropy.
        temperature: the uniform temperature of an isothermal diffusion.

    Examples:
        >>> g = FiniteVolumeGrid((50,), (1.0,), boundary="no-flux")
        >>> rod = Transport(g, conductivity=lambda T, c: 1.0 + T)
        >>> rod.variables
        ('T',)
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
                ' use discretisation = "finite-volume" (FiniteVolumeGrid).',
                key="field.discretisation",
            )
        self.grid = grid
        self.k = _coefficient(conductivity, "transport.conductivity")
        if isinstance(diffusivity, Sequence) and not isinstance(diffusivity, str):
            if not diffusivity:
                raise ScenarioError(
                    "transport.diffusivity: the list of diffusivities is empty.",
                    key="transport.diffusivity",
                )
            Ds = [_coefficient(d, f"transport.diffusivity[{i}]") for i, d in enumerate(diffusivity)]
            self.species = tuple(f"c{i + 1}" for i in range(len(Ds)))
        else:
            d = _coefficient(diffusivity, "transport.diffusivity")
            Ds = [] if d is None else [d]
            self.species = ("c",) if Ds else ()
        self.D = dict(zip(self.species, Ds, strict=True))
        if self.k is None and not self.D:
            raise ScenarioError(
                "transport: give a conductivity (Fourier), a diffusivity (Fick), or both.",
                key="transport",
            )
        self.C = float(_coefficient(heat_capacity, "transport.heat_capacity"))  # type: ignore[arg-type]
        self.k_B = float(_coefficient(k_B, "transport.k_B"))  # type: ignore[arg-type]
        self.T_iso = float(_coefficient(temperature, "transport.temperature"))  # type: ignore[arg-type]
        self.variables = (("T",) if self.k is not None else ()) + self.species
        self._kernels: dict[Any, Any] = {}

    # -- fields ---------------------------------------------------------------------------
    def _T(self, y: dict[str, Any]) -> Any:
        return y["T"] if "T" in y else self.T_iso

    def _face(self, coef: Any, a: int) -> Any:
        return coef if jnp.ndim(coef) == 0 else ops.to_faces(self.grid, coef, a)

    def fluxes(self, y: dict[str, Any]) -> dict[str, tuple[Any, ...]]:
        """J_q = −k∇T (key ``"q"``) and J_k = −D_k∇c_k (key: the species' name) on the faces,
        one array per axis (k, D averaged onto the faces)."""
        g = self.grid
        out: dict[str, tuple[Any, ...]] = {}
        T = self._T(y)
        first = y[self.species[0]] if self.species else None
        if self.k is not None:
            k = self.k(T, first) if callable(self.k) else self.k
            out["q"] = tuple(-self._face(k, a) * g.grad_axis(T, a) for a in range(g.ndim))
        for s, D in self.D.items():
            Dv = D(y[s], T) if callable(D) else D
            out[s] = tuple(-self._face(Dv, a) * g.grad_axis(y[s], a) for a in range(g.ndim))
        return out

    def cell_fluxes(self, y: dict[str, Any]) -> dict[str, tuple[Any, ...]]:
        """The fluxes at the cell centres (the mean of each cell's two faces per axis): vectors
        to draw as arrows."""
        g = self.grid
        out = {}
        for name, J in self.fluxes(y).items():
            cells = []
            for a, j in enumerate(J):
                n = g.shape[a]
                if g.boundary[a] == "periodic":
                    cells.append(0.5 * (j + jnp.roll(j, -1, axis=a)))
                else:
                    lo = jnp.take(j, jnp.arange(n), axis=a)
                    hi = jnp.take(j, jnp.arange(1, n + 1), axis=a)
                    cells.append(0.5 * (lo + hi))
            out[name] = tuple(cells)
        return out

    def rates(self, y: dict[str, Any]) -> dict[str, Any]:
        """∂T/∂t = −∇·J_q / C and ∂c_k/∂t = −∇·J_k."""
        J = self.fluxes(y)
        out = {}
        if "q" in J:
            out["T"] = -self.grid.div(J["q"]) / self.C
        for s in self.species:
            out[s] = -self.grid.div(J[s])
        return out

    def entropy(self, y: dict[str, Any]) -> Any:
        """S = ∫ C log T − k_B Σ_k c_k (log c_k − 1) dV."""
        S = 0.0
        if "T" in y:
            S = S + self.grid.integrate(self.C * jnp.log(y["T"]))
        for s in self.species:
            c = y[s]
            S = S - self.k_B * self.grid.integrate(jax.scipy.special.xlogy(c, c) - c)
        return S

    def content(self, y: dict[str, Any]) -> dict[str, Any]:
        """What no-flux walls conserve: the heat ∫ C T dV (key ``"heat"``) and each ∫ c_k dV."""
        out = {}
        if "T" in y:
            out["heat"] = self.grid.integrate(self.C * y["T"])
        for s in self.species:
            out[s] = self.grid.integrate(y[s])
        return out

    def entropy_production_faces(self, y: dict[str, Any]) -> tuple[Any, ...]:
        """σ on the faces of each axis: J_q·∇(1/T) − Σ_k J_k·∇(μ_k/T), with μ_k/T = k_B log c_k
        (Dirichlet faces use the boundary temperature)."""
        g = self.grid
        J = self.fluxes(y)
        sig: list[Any] = [0.0] * g.ndim
        for a in range(g.ndim):
            if "q" in J:
                inv = _boundary_values(g, a, lambda v: 1.0 / v)
                sig[a] = sig[a] + J["q"][a] * g.grad_axis(1.0 / y["T"], a, inv)
            for s in self.species:
                logs = _boundary_values(g, a, math.log)
                sig[a] = sig[a] - self.k_B * J[s][a] * g.grad_axis(jnp.log(y[s]), a, logs)
        return tuple(sig)

    def entropy_production(self, y: dict[str, Any]) -> tuple[Any, Any]:
        """(σ as a cell field, the total ∫σ dV = Σ_f σ_f w_f)."""
        g = self.grid
        faces = self.entropy_production_faces(y)
        total = sum(jnp.sum(g.face_weights(a) * s) for a, s in enumerate(faces))
        return ops.face_to_cells(g, faces), total

    def check_initial(self, y0: Any) -> dict[str, np.ndarray]:
        """Float64 copies of the initial fields, checked for names, shape and sign."""
        if not isinstance(y0, dict) or set(y0) != set(self.variables):
            got = sorted(y0) if isinstance(y0, dict) else type(y0).__name__
            raise ScenarioError(
                f"initial: expected the fields {', '.join(self.variables)} as a dict, got {got}.",
                key="initial",
            )
        out = {}
        for v in self.variables:
            a = self.grid.check_field(y0[v], f"initial.{v}")
            if np.any(a <= 0):
                what = "absolute temperature" if v == "T" else "concentration"
                raise ScenarioError(
                    f"initial.{v}: the {what} must be > 0 everywhere (the entropy takes its log), "
                    f"got a minimum of {a.min():.3g}.",
                    key=f"initial.{v}",
                )
            out[v] = a
        g = self.grid
        for ax in range(g.ndim):
            if g.boundary[ax] == "dirichlet" and min(g.dirichlet[ax]) <= 0:
                raise ScenarioError(
                    f"field.dirichlet: the boundary values must be > 0 (absolute temperatures or "
                    f"concentrations), got {list(g.dirichlet[ax])} on axis {ax}.",
                    key="field.dirichlet",
                )
        return out

    def expression(self) -> str:
        """The PDEs this model solves, as text."""
        parts = []
        if self.k is not None:
            k = "k(T, c)" if callable(self.k) else f"k = {self.k:g}"
            parts.append(f"C ∂T/∂t = ∇·(k∇T), {k}, C = {self.C:g} (Fourier)")
        for s, D in self.D.items():
            Dt = f"D({s}, T)" if callable(D) else f"D = {D:g}"
            parts.append(f"∂{s}/∂t = ∇·(D∇{s}), {Dt} (Fick)")
        return "; ".join(parts) + "; σ = J_q·∇(1/T) − Σ J_k·∇(μ_k/T) ≥ 0"

    def describe(self) -> dict[str, Any]:
        return {
            "model": "transport",
            "pde": self.expression(),
            "variables": list(self.variables),
            "heat_capacity": self.C,
            "k_B": self.k_B,
            "grid": self.grid.describe(),
        }

    def __repr__(self) -> str:
        return f"Transport({self.expression()})"


def _boundary_values(
    g: FiniteVolumeGrid, a: int, f: Callable[[float], float]
) -> tuple[float, float] | None:
    if g.boundary[a] != "dirichlet":
        return None
    lo, hi = g.dirichlet[a]
    return (f(lo), f(hi))


# -- the compiled time loop ------------------------------------------------------------------------
_C = (0.0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1.0, 1.0)
_A = (
    (),
    (1 / 5,),
    (3 / 40, 9 / 40),
    (44 / 45, -56 / 15, 32 / 9),
    (19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729),
    (9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656),
    (35 / 384, 0.0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84),
)
_B4 = (5179 / 57600, 0.0, 7571 / 16695, 393 / 640, -92097 / 339200, 187 / 2100, 1 / 40)
_E = tuple(b5 - b4 for b5, b4 in zip((*_A[6], 0.0), _B4, strict=True))
OK, NON_FINITE, STEP_UNDERFLOW = 0, 1, 4


_A_MATRIX = np.zeros((7, 7))
for _i, _row in enumerate(_A):
    _A_MATRIX[_i, : len(_row)] = _row


class _Packing:
    """The fields and ∫σ dt as one flat vector, so the stage loop traces the right-hand side
    once (a Python loop over the seven stages made XLA compile seven copies: 5 s here)."""

    def __init__(self, model: Transport):
        self.names = model.variables
        self.shape = model.grid.shape
        self.size = int(np.prod(self.shape))

    def pack(self, y: dict[str, Any], produced: Any) -> Any:
        parts = [jnp.ravel(y[v]) for v in self.names]
        return jnp.concatenate([*parts, jnp.reshape(produced, (1,))])

    def unpack(self, u: Any) -> dict[str, Any]:
        n = self.size
        return {
            v: jnp.reshape(u[i * n : (i + 1) * n], self.shape) for i, v in enumerate(self.names)
        }


#: RKC's damping ε and its largest number of stages (Sommeijer, Shampine & Verwer 1998)
RKC_DAMPING = 2.0 / 13.0
RKC_MAX_STAGES = 200
METHODS = ("dopri5", "rkc")


def _rkc_step(rhs: Any, u: Any, F0: Any, h: Any, s: Any) -> Any:
    """One step of the damped second-order Runge–Kutta–Chebyshev method with ``s`` stages:
    explicit, but stable for h·ρ ≤ β(s) ≈ 0.65 s² along the negative real axis, which is where
    the spectrum of diffusion lies (Sommeijer, Shampine & Verwer, J. Comput. Appl. Math. 88
    (1998) 315; van der Houwen & Sommeijer 1980). Returns the new state."""
    sf = s.astype(u.dtype)
    w0 = 1.0 + RKC_DAMPING / (sf * sf)

    def cheb(j, c):  # T_j, T_j', T_j'' at w0 by their three-term recurrences
        T1, T2, d1, d2, e1, e2 = c
        return (2 * w0 * T1 - T2, T1, 2 * T1 + 2 * w0 * d1 - d2, d1, 4 * d1 + 2 * w0 * e1 - e2, e1)

    one, zero = jnp.ones((), u.dtype), jnp.zeros((), u.dtype)
    Ts, _, dTs, _, eTs, _ = lax.fori_loop(2, s + 1, cheb, (w0, one, one, zero, zero, zero))
    w1 = dTs / eTs
    b2 = 1.0 / (4.0 * w0 * w0)  # T₂″/T₂′², and b₀ = b₁ = b₂
    Y1 = u + (b2 * w1) * h * F0

    def stage(j, c):
        Yjm1, Yjm2, T1, T2, d1, d2, e1, e2, bjm1, bjm2 = c
        Tj, _, dj, _, ej, _ = cheb(j, (T1, T2, d1, d2, e1, e2))
        bj = ej / (dj * dj)
        mu = 2.0 * w0 * bj / bjm1
        nu = -bj / bjm2
        mut = 2.0 * w1 * bj / bjm1
        gam = -(1.0 - bjm1 * T1) * mut
        Yj = (1 - mu - nu) * u + mu * Yjm1 + nu * Yjm2 + mut * h * rhs(Yjm1) + gam * h * F0
        return (Yj, Yjm1, Tj, T1, dj, d1, ej, e1, bj, bjm1)

    init = (Y1, u, w0, one, one, zero, zero, zero, b2, b2)
    return lax.fori_loop(2, s + 1, stage, init)[0]


def _build_segment(model: Transport, method: str = "dopri5"):
    pk = _Packing(model)
    A = jnp.asarray(_A_MATRIX)
    b5 = jnp.asarray(_A_MATRIX[6])
    E = jnp.asarray(_E)
    n_fields = len(pk.names) * pk.size

    def rhs(u):
        fields = pk.unpack(u)
        d = model.rates(fields)
        return pk.pack(d, model.entropy_production(fields)[1])

    def sigma_mins(u):
        faces = model.entropy_production_faces(pk.unpack(u))
        total = sum(jnp.sum(model.grid.face_weights(a) * s) for a, s in enumerate(faces))
        face_min = jnp.min(jnp.stack([jnp.min(jnp.asarray(s)) for s in faces]))
        return total, face_min

    def spectral_radius(u, v):
        """ρ(∂f/∂u) by a few power iterations on the fields, warm-started from the last
        direction (the ∫σ component does not feed back, so it is left out of the norm)."""
        mask = jnp.arange(u.size) < n_fields

        def it(_, c):
            v, _ = c
            Jv = jax.jvp(rhs, (u,), (v,))[1] * mask
            nrm = jnp.linalg.norm(Jv)
            return Jv / jnp.maximum(nrm, 1e-300), nrm

        v, rho = lax.fori_loop(0, 5, it, (v * mask / jnp.linalg.norm(v * mask), 0.0))
        return v, 1.2 * rho  # the usual safety factor on a power-iteration estimate

    def segment(carry, target, n_limit, tol):
        rtol, atol = tol[0], tol[1]

        def cond(c):
            return (c["status"] == OK) & (c["t"] < target) & (c["n"] < n_limit)

        def body(c):
            u, t, hp = c["u"], c["t"], c["h"]
            v, rho = c["v"], c["rho"]
            if method == "rkc":
                v, rho = spectral_radius(u, v)
                cap = ((RKC_MAX_STAGES - 1.0) ** 2 - 1.0) / (1.54 * rho)
                hp = jnp.minimum(hp, cap)
            last = t + hp * (1.0 + 1e-12) >= target
            h = jnp.where(last, target - t, hp)
            if method == "rkc":
                s = (1 + jnp.ceil(jnp.sqrt(1.0 + 1.54 * h * rho))).astype(jnp.int32)
                s = jnp.clip(s, 2, RKC_MAX_STAGES)
                new = _rkc_step(rhs, u, c["k1"], h, s)
                f_new = rhs(new)
                err_vec = 0.8 * (u - new) + 0.4 * h * (c["k1"] + f_new)
                evals = s + 6  # the stages, f(new) and the power iterations
                order = 2.0
            else:
                K0 = jnp.zeros((7, u.size), u.dtype).at[0].set(c["k1"])

                def stage(i, K):
                    return K.at[i].set(rhs(u + h * (A[i] @ K)))

                K = lax.fori_loop(1, 7, stage, K0)
                new = u + h * (b5 @ K)
                f_new = K[6]  # first-same-as-last: K₇ = f(new)
                err_vec = h * (E @ K)
                evals = jnp.asarray(6, jnp.int32)
                order = 5.0
            sc = atol + rtol * jnp.maximum(jnp.abs(u), jnp.abs(new))
            err = jnp.sqrt(jnp.mean((err_vec / sc) ** 2))
            fin = jnp.all(jnp.isfinite(new))
            pos = jnp.all(new[:n_fields] > 0)
            err = jnp.where(fin & pos, err, jnp.inf)
            accept = err <= 1.0
            # PI control (Gustafsson): exponents 0.7/(p+1) and 0.4/(p+1) (Hairer's DOPRI5)
            e = jnp.maximum(err, 1e-10)
            fac = 0.9 * e ** (-0.7 / (order + 1)) * c["err_prev"] ** (0.4 / (order + 1))
            fac = jnp.where(jnp.isfinite(err), jnp.clip(fac, 0.2, 5.0), 0.2)
            fac = jnp.where(accept, fac, jnp.minimum(fac, 1.0))
            h_next = h * fac
            h_next = jnp.where(accept & last, jnp.maximum(h_next, hp), h_next)
            stot, fmin = sigma_mins(new)
            stuck = ~accept & (h <= 1e-14 * jnp.maximum(jnp.abs(t), 1.0))
            return {
                "u": jnp.where(accept, new, u),
                "k1": jnp.where(accept, f_new, c["k1"]),
                "t": jnp.where(accept, jnp.where(last, target, t + h), t),
                "h": h_next,
                "n": c["n"] + accept.astype(c["n"].dtype),
                "rejected": c["rejected"] + (~accept).astype(c["n"].dtype),
                "err_prev": jnp.where(accept, e, c["err_prev"]),
                "sigma_min": jnp.where(accept, jnp.minimum(c["sigma_min"], stot), c["sigma_min"]),
                "face_min": jnp.where(accept, jnp.minimum(c["face_min"], fmin), c["face_min"]),
                "status": jnp.where(stuck, jnp.where(fin, STEP_UNDERFLOW, NON_FINITE), OK).astype(
                    jnp.int32
                ),
                "v": v,
                "rho": rho,
                "evals": c["evals"] + evals.astype(c["evals"].dtype),
            }

        return lax.while_loop(cond, body, carry)

    return segment, rhs, pk


@dataclass
class TransportSolution:
    """Fields, entropy and entropy production of a transport run.

    Attributes:
        t: the save times; ``fields[v]`` of shape ``(n_save, *grid.shape)`` per variable.
        entropy: S at the save times; ``produced``: ∫₀ᵗ σ_total dt′, integrated with the fields.
        sigma_total: σ_total at the save times.
        sigma_min: the smallest σ_total over every accepted step up to each save time;
            ``face_sigma_min``: the smallest single face term σ_f over every accepted step.
        content: the conserved contents (``"heat"``, each species) at the save times.
        steps: accepted steps by each save time.
    """

    t: np.ndarray
    fields: dict[str, np.ndarray]
    entropy: np.ndarray
    produced: np.ndarray
    sigma_total: np.ndarray
    sigma_min: np.ndarray
    face_sigma_min: float
    content: dict[str, np.ndarray]
    steps: np.ndarray
    model: Transport = field(repr=False)
    stats: dict[str, Any] = field(default_factory=dict)

    def state(self, i: int = -1) -> dict[str, Any]:
        return {v: jnp.asarray(a[i]) for v, a in self.fields.items()}

    def sigma_field(self, i: int = -1) -> np.ndarray:
        """σ at the cell centres at save ``i``."""
        return np.asarray(self.model.entropy_production(self.state(i))[0])

    def flux(self, i: int = -1) -> dict[str, tuple[np.ndarray, ...]]:
        """J_q and J_k on the faces at save ``i``."""
        return {
            k: tuple(np.asarray(j) for j in J)
            for k, J in self.model.fluxes(self.state(i)).items()
        }  # fmt: skip

    def cell_flux(self, i: int = -1) -> dict[str, tuple[np.ndarray, ...]]:
        """J_q and J_k at the cell centres at save ``i`` (arrows)."""
        return {
            k: tuple(np.asarray(j) for j in J)
            for k, J in self.model.cell_fluxes(self.state(i)).items()
        }  # fmt: skip

    def checks(self, rtol: float = 1e-12) -> dict[str, bool]:
        """The invariants of the run: σ ≥ 0 at every step (total and per face), the entropy
        balance S(t) − S(0) = ∫σ dt, and — with no-flux walls — the contents conserved."""
        scale = max(float(np.max(np.abs(self.entropy))), 1e-300)
        gain = self.entropy - self.entropy[0]
        # S and ∫σ dt are each integrated to the local tolerance (relative to the fields, not
        # to the much smaller entropy gain): their difference may grow to about 100·rtol of the
        # gain over a run, 1000·rtol for the second-order RKC (and never below 1e-6 is asked)
        per = 1000 if self.stats.get("solver") == "rkc" else 100
        rel = max(1e-6, per * float(self.stats.get("rtol", 1e-8)))
        tol = rel * max(float(np.max(np.abs(gain))), 1e-12) + 1e-12 * scale
        out = {
            "entropy_production_non_negative": bool(
                np.all(self.sigma_min >= 0) and self.face_sigma_min >= 0
            ),
            "entropy_non_decreasing": bool(np.all(np.diff(self.entropy) >= -tol))
            if self.model.grid.boundary.count("dirichlet") == 0
            else True,
            f"entropy_balance_{rel:.0e}": bool(np.max(np.abs(gain - self.produced)) <= tol),
        }
        if all(b != "dirichlet" for b in self.model.grid.boundary):
            for k, v in self.content.items():
                ok = np.max(np.abs(v - v[0])) <= rtol * max(abs(float(v[0])), 1e-300) * 100
                out[f"{k}_conserved_1e-10"] = bool(ok)
        return out

    def to_xarray(self) -> xr.Dataset:
        """An ``xarray.Dataset``: the fields, S, ∫σ dt, σ_total and the contents per time."""
        import xarray as xr

        grid = self.model.grid
        dims = ("x", "y", "z")[: grid.ndim]
        coords: dict[str, Any] = {"time": self.t}
        coords |= {d: grid.axis_points(a) for a, d in enumerate(dims)}
        data: dict[str, Any] = {v: (("time", *dims), a) for v, a in self.fields.items()}
        data |= {
            "entropy": ("time", self.entropy),
            "entropy_produced": ("time", self.produced),
            "entropy_production": ("time", self.sigma_total),
            "steps": ("time", self.steps),
        }
        data |= {f"content_{k}": ("time", v) for k, v in self.content.items()}
        attrs = {k: v for k, v in self.stats.items() if isinstance(v, int | float | str)}
        attrs["pde"] = self.model.expression()
        return xr.Dataset(data, coords=coords, attrs=attrs)


def _diagnostics(model: Transport, y: dict[str, Any]) -> dict[str, Any]:
    faces = model.entropy_production_faces(y)
    return {
        "S": model.entropy(y),
        "sigma": model.entropy_production(y)[1],
        "face_min": jnp.min(jnp.stack([jnp.min(jnp.asarray(f)) for f in faces])),
        "content": model.content(y),
    }


def solve_transport(
    model: Transport,
    y0: dict[str, Any],
    t1: float,
    *,
    n_save: int | None = None,
    save_every: float | None = None,
    rtol: float = 1e-8,
    atol: float = 1e-10,
    max_steps: int = 10_000_000,
    method: str = "dopri5",
    progress: Any = False,
) -> TransportSolution:
    """Integrate the transport model from ``y0`` to ``t1`` (adaptive, see ``method``).

    Args:
        model: a :class:`Transport`.
        y0: the initial fields, ``{"T": …, "c": …}`` (those of ``model.variables``).
        t1: the end time.
        n_save, save_every: the save times (``n_save`` equally spaced, default 51, or every
            ``save_every``).
        rtol, atol: the local error tolerances (on every field and on ∫σ dt).
        max_steps: the cap on accepted steps.
        method: ``"dopri5"`` (Dormand–Prince 5(4): accurate, for coarse grids and short runs)
            or ``"rkc"`` (Runge–Kutta–Chebyshev, second order, explicit but with s stages
            stable up to h·ρ ≈ 0.65 s²: for fine grids, where diffusion is stiff and DOPRI5's
            step would be bound to dx²C/k).
        progress: a callable receiving ``{"t", "t1", "steps", "S"}`` after each interval.

    Raises:
        ScenarioError: bad input (names the key).
        ConvergenceError: the step fell to round-off, a field became non-finite, or max_steps.
    """
    from .evolve import save_times

    y0 = model.check_initial(y0)
    for name, v in (("transport.rtol", rtol), ("transport.atol", atol)):
        if isinstance(v, bool) or not (isinstance(v, int | float) and math.isfinite(v) and v > 0):
            raise ScenarioError(f"{name}: expected a tolerance > 0, got {v!r}.", key=name)
    times = save_times(t1, save_every, n_save if n_save is not None or save_every else 51)
    if method not in METHODS:
        raise ScenarioError(
            f"transport.method: unknown method {method!r}; choose dopri5 (accurate) or rkc "
            "(Runge–Kutta–Chebyshev, for stiff diffusion on fine grids).",
            key="transport.method",
        )
    kern = model._kernels.get(method)
    if kern is None:
        segment, rhs, pk = _build_segment(model, method)
        kern = {
            "segment": jax.jit(segment),
            "rhs": jax.jit(rhs),
            "pack": pk,
            "diag": jax.jit(jax.vmap(lambda y: _diagnostics(model, y))),
        }
        model._kernels[method] = kern
    pk = kern["pack"]
    u0 = jnp.asarray(np.concatenate([*(np.ravel(y0[v]) for v in model.variables), [0.0]]))
    k1 = kern["rhs"](u0)
    # the first step: Hairer's estimate h = 0.01‖y‖/‖f‖ (scaled), then the controller adapts
    d0 = max(float(np.sqrt(np.mean(a**2))) for a in y0.values())
    d1 = float(np.sqrt(np.mean(np.asarray(k1)[:-1] ** 2)))
    h0 = 0.01 * d0 / d1 if d1 > 1e-12 else 1e-3 * float(times[-1])
    h0 = min(h0, float(times[1] - times[0]))
    carry = {
        "u": u0,
        "k1": k1,
        "t": jnp.asarray(0.0, jnp.float64),
        "h": jnp.asarray(h0, jnp.float64),
        "n": jnp.asarray(0, jnp.int64),
        "rejected": jnp.asarray(0, jnp.int64),
        "err_prev": jnp.asarray(1e-4, jnp.float64),
        "sigma_min": jnp.asarray(np.inf, jnp.float64),
        "face_min": jnp.asarray(np.inf, jnp.float64),
        "status": jnp.asarray(OK, jnp.int32),
        # RKC's power iteration starts from a fixed direction with every mode in it
        "v": jnp.asarray(np.sin(1.0 + np.arange(u0.size) * 0.7548776662466927)),
        "rho": jnp.asarray(0.0, jnp.float64),
        "evals": jnp.asarray(1, jnp.int64),
    }
    tol = jnp.asarray([rtol, atol], dtype=jnp.float64)
    wall0 = time.perf_counter()
    saved: list[dict[str, Any]] = []

    def record(cr: dict[str, Any]) -> None:
        u = np.asarray(cr["u"])
        n = pk.size
        fields = {v: u[i * n : (i + 1) * n].reshape(pk.shape) for i, v in enumerate(pk.names)}
        saved.append(
            {
                "fields": fields,
                "produced": float(u[-1]),
                "sigma_min": float(cr["sigma_min"]),
                "n": int(cr["n"]),
            }
        )

    record(carry)
    saved[0]["sigma_min"] = float("inf")  # the diagnostics below give σ at t = 0
    for tk in times[1:]:
        carry = kern["segment"](
            carry, jnp.asarray(float(tk), jnp.float64), jnp.asarray(max_steps, jnp.int64), tol
        )
        status = int(carry["status"])
        if status != OK or float(carry["t"]) < float(tk):
            why = (
                f"the step size fell to round-off at t = {float(carry['t']):.6g}"
                if status != OK
                else f"max_steps = {max_steps} steps reached only t = {float(carry['t']):.6g}"
            )
            raise ConvergenceError(
                f"transport: {why} of {float(times[-1]):g}; loosen rtol/atol or raise max_steps "
                "(a field may have lost positivity).",
                result=None,
            )
        record(carry)
        if callable(progress):
            progress({"t": float(tk), "t1": float(times[-1]), "steps": int(carry["n"])})
    fields = {v: np.stack([s["fields"][v] for s in saved]) for v in model.variables}
    # the diagnostics of every save in one compiled, vmapped call (eager jnp would compile
    # each small operation on its own)
    diag = kern["diag"](fields)
    content = {k: np.asarray(v) for k, v in diag["content"].items()}
    return TransportSolution(
        t=np.asarray(times),
        fields=fields,
        entropy=np.asarray(diag["S"]),
        produced=np.asarray([s["produced"] for s in saved]),
        sigma_total=np.asarray(diag["sigma"]),
        sigma_min=np.minimum.accumulate(
            np.minimum(np.asarray([s["sigma_min"] for s in saved]), float(diag["sigma"][0]))
        ),
        face_sigma_min=min(float(carry["face_min"]), float(np.min(diag["face_min"]))),
        content=content,
        steps=np.asarray([s["n"] for s in saved], dtype=np.int64),
        model=model,
        stats={
            "solver": method,
            "rhs_evaluations": int(carry["evals"]),
            "rtol": float(rtol),
            "atol": float(atol),
            "steps": int(carry["n"]),
            "rejected": int(carry["rejected"]),
            "wall_s": time.perf_counter() - wall0,
        },
    )
