"""`CriticalPoint`: a point where ∇V = 0, with its Morse data."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

KINDS = ("minimum", "saddle", "maximum", "degenerate")


@dataclass(frozen=True)
class CriticalPoint:
    """A critical point of V and its Hessian data.

    Attributes:
        x: the point, shape ``(dim,)``.
        energy: V(x).
        index: the Morse index, the number of negative Hessian eigenvalues (of G⁻¹∇²V when a
            metric is given; the index does not depend on the metric).
        kind: ``minimum`` (index 0), ``maximum`` (index dim), ``saddle`` (in between), or
            ``degenerate`` when an eigenvalue is zero to round-off (the Morse lemma does not
            apply: e.g. the monkey saddle x³ − 3xy², or x³ + y²).
        eigenvalues: the Hessian eigenvalues, ascending.
        eigenvectors: the matching unit eigenvectors as columns, shape ``(dim, dim)``.
        residual: |∇V(x)| after polishing.
    """

    x: np.ndarray
    energy: float
    index: int
    kind: str
    eigenvalues: np.ndarray
    eigenvectors: np.ndarray
    residual: float
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly: keys x, energy, kind, index, eigenvalues, residual."""
        return {
            "x": np.asarray(self.x).tolist(),
            "energy": float(self.energy),
            "kind": self.kind,
            "index": int(self.index),
            "eigenvalues": np.asarray(self.eigenvalues).tolist(),
            "residual": float(self.residual),
        }
