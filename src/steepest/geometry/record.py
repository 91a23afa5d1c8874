"""`GeometricSolution`: what every geometric flow returns.

A geometric flow moves a shape (a curve, a surface, a map into S², a metric) down an energy.
Every solve records, at each saved time, the energy and the quantities the mathematics says
something about (area, Gauss–Bonnet sums, |u|, …), the saved states, how it stopped, and the
invariants it verified (``checks``: name → bool). Arrays are NumPy.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import xarray as xr

#: relative slack allowed on an energy that a scheme proves non-increasing (round-off only)
ROUND_OFF = 1e-10


def non_increasing(values: Any, rtol: float = ROUND_OFF) -> bool:
    """True when ``values`` never rise by more than ``rtol`` times their largest magnitude."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size < 2:
        return True
    scale = max(float(np.max(np.abs(v))), 1e-300)
    return bool(np.all(np.diff(v) <= rtol * scale))


@dataclass
class GeometricSolution:
    """The history of one geometric flow.

    Attributes:
        flow: the flow's name (``"curve-shortening"``, ``"mean-curvature"``, …).
        energy_name: the energy the flow descends (``"length"``, ``"area"``, …).
        t: saved times, shape ``(n,)``.
        energy: the energy at the saved times, shape ``(n,)``.
        frames: the saved states, first axis the saved times (or None when not kept).
        diagnostics: further per-saved-step quantities, each of shape ``(n,)``.
        status: how the run ended (``"done"``, ``"converged"``, ``"stopped-before-extinction"``,
            ``"pinched"``, ``"bubbling"``, …).
        message: one sentence saying why it stopped.
        checks: the invariants this run verified, name → bool.
        stats: steps, wall and compile time, solver figures.
        settings: the parameters the run was made with.
        final: the final state (same kind as a frame).
        extra: flow-specific objects (a mesh's faces, a grid's spacing, a planar layout, …).
    """

    flow: str
    energy_name: str
    t: np.ndarray
    energy: np.ndarray
    frames: Any
    diagnostics: dict[str, np.ndarray]
    status: str
    message: str
    checks: dict[str, bool] = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    final: Any = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        bad = [k for k, v in self.checks.items() if not v]
        return (
            f"GeometricSolution({self.flow}: {len(self.t)} saved steps to t = "
            f"{self.t[-1]:.6g}, {self.energy_name} {self.energy[0]:.6g} -> "
            f"{self.energy[-1]:.6g}, status {self.status!r}"
            + (f", failed checks {bad}" if bad else "")
            + ")"
        )

    @property
    def ok(self) -> bool:
        """True when every invariant in ``checks`` held."""
        return all(self.checks.values())

    def to_xarray(self) -> xr.Dataset:
        """An ``xarray.Dataset`` with dim ``time``: energy, diagnostics, and the frames."""
        import xarray as xr

        data: dict[str, Any] = {"energy": ("time", np.asarray(self.energy))}
        for k, v in self.diagnostics.items():
            v = np.asarray(v)
            if v.dtype == bool:
                v = v.astype(np.int8)  # NetCDF has no boolean type
            if v.shape[:1] == np.shape(self.t):
                data[k] = (("time",) + tuple(f"{k}_{i}" for i in range(v.ndim - 1)), v)
        if self.frames is not None:
            fr = np.asarray(self.frames)
            data["state"] = (("time",) + tuple(f"state_{i}" for i in range(fr.ndim - 1)), fr)
        for k, v in self.extra.items():
            a = np.asarray(v) if not isinstance(v, dict) else None
            if a is not None and a.dtype.kind in "fiub" and a.ndim >= 1:
                data[f"extra_{k}"] = (tuple(f"{k}_{i}" for i in range(a.ndim)), a)
        ds = xr.Dataset(data, coords={"time": np.asarray(self.t)})
        ds.attrs.update(
            flow=self.flow,
            energy_name=self.energy_name,
            status=self.status,
            message=self.message,
            checks=json.dumps(self.checks),
            stats=json.dumps(self.stats, default=_json_default),
            settings=json.dumps(self.settings, default=_json_default),
        )
        ds["energy"].attrs["long_name"] = self.energy_name
        ds["time"].attrs["long_name"] = "flow time t"
        return ds

    def save(self, path: str | Path) -> Path:
        """Write the dataset as NetCDF (``.nc``) or Zarr (``.zarr``); returns the path."""
        path = Path(path)
        ds = self.to_xarray()
        if path.suffix == ".zarr":
            ds.to_zarr(path, mode="w")
        else:
            ds.to_netcdf(path, engine="h5netcdf")
        return path

    def summary(self) -> dict[str, Any]:
        """A JSON-friendly summary: energies, diagnostics at the ends, status, checks, stats."""
        first_last = {
            k: [_scalar(np.asarray(v)[0]), _scalar(np.asarray(v)[-1])]
            for k, v in self.diagnostics.items()
            if np.ndim(v) == 1 and len(v)
        }
        return {
            "flow": self.flow,
            "energy_name": self.energy_name,
            "energy_initial": float(self.energy[0]),
            "energy_final": float(self.energy[-1]),
            "t_final": float(self.t[-1]),
            "saved_steps": int(len(self.t)),
            "status": self.status,
            "message": self.message,
            "diagnostics_first_last": first_last,
            "checks": {k: bool(v) for k, v in self.checks.items()},
            "stats": self.stats,
            "settings": self.settings,
        }


def _scalar(v: Any) -> Any:
    v = np.asarray(v)
    return float(v) if v.dtype.kind in "fiu" else str(v)


def _json_default(o: Any) -> Any:
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)
