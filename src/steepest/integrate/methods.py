"""The table of integration methods and what each one promises.

A method is either one of our hand-written fixed-step schemes (compiled into one loop with the
dissipation guard inside) or an adaptive diffrax solver.
"""

from __future__ import annotations

from dataclasses import dataclass

from .._core.errors import ScenarioError

# The stability interval of RK4 on the negative real axis: |R(z)| ≤ 1 for z ∈ [−2.7852935634, 0],
# R(z) = 1 + z + z²/2 + z³/6 + z⁴/24 (the real root of |R(z)| = 1 other than 0).
RK4_STABILITY = 2.785293563405282


@dataclass(frozen=True)
class Method:
    name: str
    kind: str  # "fixed" (hand-written loop) or "adaptive" (diffrax)
    order: int
    explicit: bool
    #: h·λ_max must stay below this for an explicit scheme (None: unconditionally stable)
    stability: float | None
    #: energy decreases at every step for any step size (a theorem, tested)
    unconditionally_dissipative: bool
    summary: str


METHODS: dict[str, Method] = {
    m.name: m
    for m in [
        Method(
            "euler",
            "fixed",
            1,
            True,
            2.0,
            False,
            "explicit Euler: x ← x − h G⁻¹∇V(x). This is gradient descent with step h.",
        ),
        Method(
            "rk4",
            "fixed",
            4,
            True,
            RK4_STABILITY,
            False,
            "classical 4th-order Runge–Kutta with a fixed step.",
        ),
        Method(
            "implicit-euler",
            "fixed",
            1,
            False,
            None,
            True,
            "implicit Euler = the proximal point step x ← argmin V(y) + ‖y − x‖²_G/(2h).",
        ),
        Method(
            "discrete-gradient",
            "fixed",
            2,
            False,
            None,
            True,
            "Gonzalez midpoint discrete gradient: V(x′) − V(x) = −h‖∇̄V‖²_{G⁻¹} ≤ 0 exactly.",
        ),
        Method(
            "rk45",
            "adaptive",
            5,
            True,
            None,
            False,
            "Dormand–Prince 5(4) with PID step control (diffrax.Dopri5).",
        ),
        Method(
            "tsit5",
            "adaptive",
            5,
            True,
            None,
            False,
            "Tsitouras 5(4) with PID step control (diffrax.Tsit5).",
        ),
        Method(
            "kvaerno5",
            "adaptive",
            5,
            False,
            None,
            False,
            "Kværnø 5(4) ESDIRK for stiff landscapes (diffrax.Kvaerno5).",
        ),
    ]
}


def get_method(name: str, key: str = "integrate.method") -> Method:
    try:
        return METHODS[name]
    except (KeyError, TypeError):
        raise ScenarioError(
            f"{key}: unknown method {name!r}; choose one of {', '.join(METHODS)}.", key=key
        ) from None
