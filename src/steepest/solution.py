"""`Solution`: what a solve returns — times, states, energies, |∇V|, per-trajectory outcome, stats.

Arrays are NumPy. A single start gives ``x`` of shape ``(time, dim)``; a batch gives
``(sample, time, dim)``. After a trajectory stops (|∇V| < grad_tol, or a failure) its saved
values are held at the final state, so every sample shares the same time axis.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ._core import status as S
from ._core.errors import ScenarioError


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for pkg in ("steepest", "jax", "jaxlib", "diffrax", "numpy", "xarray"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            pass
    return out


@dataclass
class Solution:
    t: np.ndarray  # (time,)
    x: np.ndarray | None  # (time, dim) or (sample, time, dim); None when states were not saved
    energy: np.ndarray  # (time,) or (sample, time)
    grad_norm: np.ndarray  # (time,) or (sample, time)
    x_final: np.ndarray  # (dim,) or (sample, dim)
    energy_final: np.ndarray  # () or (sample,)
    t_final: np.ndarray  # () or (sample,): when each trajectory stopped
    steps: np.ndarray  # () or (sample,): accepted steps
    status: np.ndarray  # () or (sample,): "done", "converged", "non-finite", ...
    stats: dict[str, Any] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    components: tuple[str, ...] = ()

    @property
    def batched(self) -> bool:
        return np.ndim(self.energy) == 2

    @property
    def converged(self) -> np.ndarray:
        """Whether each trajectory stopped because |∇V| fell below grad_tol."""
        return np.asarray(self.status) == "converged"

    @property
    def dissipation_ok(self) -> bool:
        """True when the saved energy never rose beyond round-off along any trajectory."""
        return bool(self.stats.get("energy_monotone", True))

    def __repr__(self) -> str:
        shape = np.shape(self.energy)
        return (
            f"Solution(method={self.settings.get('method')!r}, samples="
            f"{shape[0] if self.batched else 1}, saved={shape[-1]}, "
            f"t1={self.settings.get('t1')})"
        )

    # -- xarray and storage ---------------------------------------------------------------
    def to_xarray(self):
        """An ``xarray.Dataset`` with dims ``sample``, ``time`` and ``component``."""
        import xarray as xr

        b = self.batched
        add = (lambda a: a) if b else (lambda a: np.asarray(a)[None, ...])
        comps = list(self.components) or [f"x{i + 1}" for i in range(np.shape(self.x_final)[-1])]
        n = np.shape(add(self.energy))[0]
        data = {
            "energy": (("sample", "time"), add(self.energy)),
            "grad_norm": (("sample", "time"), add(self.grad_norm)),
            "x_final": (("sample", "component"), add(self.x_final)),
            "energy_final": (("sample",), add(self.energy_final)),
            "t_final": (("sample",), add(self.t_final)),
            "steps": (("sample",), add(self.steps).astype(np.int64)),
            # CF flags: an integer code per sample, the names in flag_meanings (portable to Zarr)
            "status": (
                ("sample",),
                np.array(
                    [_STATUS_CODES[str(v)] for v in np.atleast_1d(add(self.status))], dtype=np.int8
                ),
            ),
        }
        if self.x is not None:
            data["x"] = (("sample", "time", "component"), add(self.x))
        ds = xr.Dataset(
            data,
            coords={
                "time": self.t,
                "sample": np.arange(n),
                "component": np.array(comps, dtype=object),
            },
            attrs={
                "title": "steepest gradient-flow solution",
                "settings": json.dumps(self.settings, default=_json_default),
                "stats": json.dumps(self.stats, default=_json_default),
                "versions": json.dumps(_versions()),
                "batched": int(b),
            },
        )
        ds["energy"].attrs["long_name"] = "V(x(t))"
        ds["grad_norm"].attrs["long_name"] = "|∇V(x(t))|"
        ds["time"].attrs["long_name"] = "flow time t"
        ds["status"].attrs.update(
            flag_values=np.arange(len(_STATUS_NAMES), dtype=np.int8),
            flag_meanings=" ".join(_STATUS_NAMES),
        )
        return ds

    @classmethod
    def from_xarray(cls, ds) -> Solution:
        b = bool(int(ds.attrs.get("batched", 1)))
        take = (lambda a: np.asarray(a)) if b else (lambda a: np.asarray(a)[0])
        return cls(
            t=np.asarray(ds["time"]),
            x=take(ds["x"]) if "x" in ds else None,
            energy=take(ds["energy"]),
            grad_norm=take(ds["grad_norm"]),
            x_final=take(ds["x_final"]),
            energy_final=take(ds["energy_final"]),
            t_final=take(ds["t_final"]),
            steps=take(ds["steps"]),
            status=_status_names(take(ds["status"])),
            stats=json.loads(ds.attrs.get("stats", "{}")),
            settings=json.loads(ds.attrs.get("settings", "{}")),
            components=tuple(str(c) for c in np.asarray(ds["component"])),
        )

    def save(self, path: str | Path) -> Path:
        """Write to NetCDF (``.nc``) or Zarr (``.zarr``); the format follows the suffix."""
        path = Path(path)
        ds = self.to_xarray()
        if path.suffix == ".nc":
            tmp = path.with_name(path.name + ".part")
            ds.to_netcdf(tmp, engine="h5netcdf")
            tmp.replace(path)  # never leave a half-written file under the real name
        elif path.suffix == ".zarr":
            ds.to_zarr(path, mode="w", consolidated=False)
        else:
            raise ScenarioError(
                f"output: cannot save to {path.name!r}; use a name ending in .nc (NetCDF) or "
                ".zarr (Zarr).",
                key="output.file",
            )
        return path

    def summary(self) -> dict[str, Any]:
        """A JSON-friendly summary: final points, energies, steps, statuses and stats."""
        xf = np.atleast_2d(self.x_final)
        return {
            "final_points": xf.tolist(),
            "final_energies": np.atleast_1d(self.energy_final).tolist(),
            "final_grad_norms": np.atleast_1d(
                self.grad_norm[..., -1] if self.grad_norm.size else []
            ).tolist(),
            "t_final": np.atleast_1d(self.t_final).tolist(),
            "steps": np.atleast_1d(self.steps).astype(int).tolist(),
            "status": np.atleast_1d(self.status).tolist(),
            "stats": self.stats,
            "settings": self.settings,
        }


_STATUS_NAMES = tuple(S.NAMES[c] for c in sorted(S.NAMES))
_STATUS_CODES = {name: code for code, name in S.NAMES.items()}


def _status_names(codes: Any) -> np.ndarray:
    a = np.asarray(codes)
    return (
        np.vectorize(lambda c: _STATUS_NAMES[int(c)], otypes=[str])(a)
        if a.ndim
        else np.array(_STATUS_NAMES[int(a)])
    )


def _json_default(o: Any) -> Any:
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)


def load(path: str | Path) -> Solution:
    """Read a :class:`Solution` written by :meth:`Solution.save` (NetCDF or Zarr)."""
    import xarray as xr

    path = Path(path)
    if not path.exists():
        raise ScenarioError(f"load: no file {str(path)!r}.", key="path")
    if path.suffix == ".zarr" or path.is_dir():
        ds = xr.open_zarr(path, consolidated=False).load()
    else:
        with xr.open_dataset(path, engine="h5netcdf") as f:
            ds = f.load()
    return Solution.from_xarray(ds)
