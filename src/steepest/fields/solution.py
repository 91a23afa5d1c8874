"""`FieldSolution`: what a field run returns — saved times, energies, mass, fields, statistics."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import xarray as xr


@dataclass
class FieldSolution:
    """The record of a field flow.

    Attributes:
        t: the saved times, shape ``(n_save,)``.
        energy: the free energy F at the saved times.
        modified_energy: the energy the scheme promised not to increase (F itself, or SAV's Ẽ).
        mass: ∫c dV at the saved times.
        steps: the number of steps taken by each saved time.
        dt: the step the controller proposed at each saved time.
        fields: the fields at the saved times, shape ``(n_save, *grid.shape)`` (None when they
            were streamed to a store instead of kept).
        final: the field at the last saved time.
        flow: the flow that was solved.
        stats: scheme, controller, steps, rejected steps, wall and compile time, status.
    """

    t: np.ndarray
    energy: np.ndarray
    modified_energy: np.ndarray
    mass: np.ndarray
    steps: np.ndarray
    dt: np.ndarray
    fields: np.ndarray | None
    final: np.ndarray
    flow: Any = field(repr=False)
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def energy_monotone(self) -> bool:
        """Whether the promised energy never rose beyond round-off between saved times."""
        e = self.modified_energy
        if e.size < 2:
            return True
        tol = 1e-10 * (np.abs(e[:-1]) + abs(e[0]))
        return bool(np.all(np.diff(e) <= tol))

    def flux(self, i: int = -1) -> tuple[np.ndarray, ...]:
        """The flux field J of the saved field ``i`` (faces of a finite-volume grid)."""
        c = self.final if self.fields is None else self.fields[i]
        return tuple(np.asarray(j) for j in self.flow.flux(c))

    def to_xarray(self) -> xr.Dataset:
        """An ``xarray.Dataset`` with dims ``time`` and the grid axes ``x``, ``y``, ``z``."""
        import xarray as xr

        grid = self.flow.grid
        names = ("x", "y", "z")[: grid.ndim]
        coords: dict[str, Any] = {"time": self.t}
        coords |= {n: grid.axis_points(a) for a, n in enumerate(names)}
        data: dict[str, Any] = {
            "free_energy": ("time", self.energy),
            "modified_energy": ("time", self.modified_energy),
            "mass": ("time", self.mass),
            "steps": ("time", self.steps),
            "dt": ("time", self.dt),
        }
        if self.fields is not None:
            data["c"] = (("time", *names), self.fields)
        attrs = {
            k: (v if isinstance(v, int | float | str) else str(v)) for k, v in self.stats.items()
        }
        attrs["pde"] = self.flow.expression()
        return xr.Dataset(data, coords=coords, attrs=attrs)

    def summary(self) -> dict[str, Any]:
        return {
            "t_final": float(self.t[-1]),
            "free_energy_initial": float(self.energy[0]),
            "free_energy_final": float(self.energy[-1]),
            "mass_initial": float(self.mass[0]),
            "mass_final": float(self.mass[-1]),
            "energy_monotone": self.energy_monotone,
            **{k: v for k, v in self.stats.items() if isinstance(v, int | float | str | bool)},
        }
