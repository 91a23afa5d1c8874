"""`Path`: a minimum energy path between two minima, its transition state and barriers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..landscape.critical_point import CriticalPoint


@dataclass
class Path:
    """A converged (or not) chain of states from one minimum to another.

    Attributes:
        images: ``(n_images, dim)``, the first and last are the (polished) minima.
        energies: V at each image.
        tangents: unit tangents at each image (the improved tangent of Henkelman–Jónsson 2000
            for NEB; the spline tangent for the string method).
        saddle: the transition state: the highest image (the climbing image for CI-NEB)
            refined by Newton to |∇V| ≤ 1e-10 and checked to have Hessian index 1; None when
            the refinement does not reach an index-1 saddle.
        saddles: every local energy maximum along the path, refined the same way.
        barrier_forward, barrier_backward: V(saddle) − V(first), V(saddle) − V(last).
        force_calls: single-image energy-and-force evaluations spent (endpoints included).
        hessian_calls: Hessian evaluations (endpoint and saddle polishing).
        iterations: optimiser iterations.
        converged: True only when the criterion (max force ≤ fmax on every moving image, the
            climbing one included) holds; never because the budget ran out.
        max_force: the largest image force at the end.
        connects: the minima reached by following the saddle's unstable manifold down both
            ways (a pair of CriticalPoint), or None when not checked or not found.
        endpoint_shift: how far each given endpoint was from the minimum it was polished to.
        method: ``"neb"`` or ``"string"``; ``info`` holds the settings used.
    """

    images: np.ndarray
    energies: np.ndarray
    tangents: np.ndarray
    saddle: CriticalPoint | None
    saddles: list[CriticalPoint]
    barrier_forward: float
    barrier_backward: float
    force_calls: int
    hessian_calls: int
    iterations: int
    converged: bool
    max_force: float
    connects: tuple[CriticalPoint, CriticalPoint] | None
    endpoint_shift: tuple[float, float]
    method: str
    info: dict[str, Any] = field(default_factory=dict)

    def arclength(self) -> np.ndarray:
        """Cumulative arc length of the images along the polyline."""
        d = np.linalg.norm(np.diff(self.images, axis=0), axis=1)
        return np.concatenate([[0.0], np.cumsum(d)])

    def to_dict(self) -> dict[str, Any]:
        s = self.saddle
        return {
            "method": self.method,
            "saddle": None if s is None else {"x": s.x.tolist(), "energy": float(s.energy)},
            "barrier_forward": float(self.barrier_forward),
            "barrier_backward": float(self.barrier_backward),
            "force_calls": int(self.force_calls),
            "converged": bool(self.converged),
            "iterations": int(self.iterations),
            "max_force": float(self.max_force),
            "images": self.images.tolist(),
            "energies": self.energies.tolist(),
            "endpoint_shift": list(self.endpoint_shift),
            "connects": None if self.connects is None else [c.x.tolist() for c in self.connects],
        }

    def plot(self, V: Any = None, *, axes: Any = None):
        """Energy against arc length, and (for 2-D with ``V``) the path on the contour map."""
        import matplotlib.pyplot as plt

        two_d = V is not None and self.images.shape[1] == 2
        if axes is None:
            fig, axes = plt.subplots(1, 2 if two_d else 1, figsize=(10 if two_d else 5, 4))
        axes = np.atleast_1d(axes)
        s = self.arclength()
        ax = axes[0]
        ax.plot(s, self.energies, "o-", color="C0", label=self.method)
        if self.saddle is not None:
            k = int(np.argmin(np.linalg.norm(self.images - self.saddle.x, axis=1)))
            ax.plot(s[k], self.saddle.energy, "r*", ms=12, label="saddle (polished)")
        ax.set_xlabel("arc length")
        ax.set_ylabel("V")
        ax.set_title(
            f"barrier {self.barrier_forward:.4g} forward, {self.barrier_backward:.4g} back"
        )
        ax.legend()
        if two_d and len(axes) > 1:
            from ..plot.landscape import contour

            contour(V, ax=axes[1])
            axes[1].plot(self.images[:, 0], self.images[:, 1], "o-", color="C3", ms=4)
            if self.saddle is not None:
                axes[1].plot(*self.saddle.x, "r*", ms=12)
        return axes[0].figure
