"""Time-stepping schemes for field flows; :func:`make_stepper` builds one by name.

=================  =====  ====================================================================
scheme             order  what it promises
=================  =====  ====================================================================
explicit           1      F decreases only below the stability bound (for comparison)
semi-implicit      1      F decreases for S ≥ L/2 (stabilised, linear part implicit)
etd1, etdrk2       1, 2   F decreases for S ≥ L/2; linear flows integrated exactly
etdrk4             4      F checked (a rise rejects the step); linear flows integrated exactly
eyre               1      F decreases for every step (convex splitting)
sav                1      the modified energy decreases for every step
=================  =====  ====================================================================
"""

from __future__ import annotations

from typing import Any

from ..._core.errors import ScenarioError
from ..flows import FieldFlow, WassersteinFlow
from .base import Stepper as Stepper

SCHEMES = ("explicit", "semi-implicit", "etd1", "etdrk2", "etdrk4", "eyre", "sav")
_ALIASES = {
    "euler": "explicit",
    "forward-euler": "explicit",
    "semi_implicit": "semi-implicit",
    "stabilised": "semi-implicit",
    "stabilized": "semi-implicit",
    "imex": "semi-implicit",
    "etd": "etd1",
    "etd2": "etdrk2",
    "etd4": "etdrk4",
    "exponential": "etd1",
    "convex-splitting": "eyre",
}


def canonical(name: str) -> str:
    n = str(name).strip().lower().replace("_", "-")
    n = _ALIASES.get(n, n)
    if n not in SCHEMES:
        raise ScenarioError(
            f"scheme.kind: unknown scheme {name!r}; choose from {', '.join(SCHEMES)}.",
            key="scheme.kind",
        )
    return n


def make_stepper(flow: FieldFlow, scheme: str, **options: Any) -> Stepper:
    """The :class:`Stepper` of ``scheme`` for ``flow`` (errors name ``scheme.kind``)."""
    name = canonical(scheme)
    if isinstance(flow, WassersteinFlow) and name != "explicit":
        raise ScenarioError(
            f"scheme.kind: a Wasserstein flow runs with the positivity-preserving explicit "
            f'scheme, not {name!r}; use scheme.kind = "explicit".',
            key="scheme.kind",
        )
    if name == "explicit":
        from .explicit import build
    elif name == "semi-implicit":
        from .semi_implicit import build
    elif name in ("etd1", "etdrk2", "etdrk4"):
        from .exponential import build

        return build(flow, order={"etd1": 1, "etdrk2": 2, "etdrk4": 4}[name], **options)
    elif name == "eyre":
        from .convex_splitting import build
    else:
        from .sav import build
    return build(flow, **options)
