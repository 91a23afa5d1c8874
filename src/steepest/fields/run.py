"""Long field runs that lose nothing: fields streamed to Zarr, atomic checkpoints, resume.

``stream(flow, c0, t1, out=DIR, dt=…, checkpoint_every=N, checkpoint_seconds=S)`` runs the
same compiled segments as :func:`~steepest.fields.evolve` (through
:func:`steepest.fields.evolve.drive`) and writes, as it goes::

    DIR/steepest-run.json   what the run is (kind "field", settings, scenario): never rewritten
    DIR/fields.zarr         c at every save time (one chunk per save, written when reached),
                            and the time series time, free_energy, mass, steps, dt
    DIR/checkpoint.npz      the loop's whole carry (state, t, step, controller state h, counts,
                            the scheme's run-time numbers), the saved series, the next save
    DIR/free_energy.csv     time,free_energy so far (PFHub's format)
    DIR/run.log             one line per segment, checkpoint, start and resume

A checkpoint is taken every N steps (segments then end exactly on multiples of N) and/or every
S seconds of wall time, and at the end. It is written to a temporary file, flushed to disk
(fsync) and renamed over the previous one (``os.replace`` is atomic on POSIX), so a kill at any
moment leaves the last good checkpoint intact; fields saved after it are rewritten on resume.
:func:`resume` rebuilds the integrator from the manifest, loads the carry and continues with the
same steps, so the result equals the uninterrupted run (bit for bit on the same machine). The
schemes use no random numbers, so there is no RNG state to keep.

Before the run starts the output directory is created and probed with a real write, and the free
space is checked against the projected size of the store: an unwritable directory or a full
disk is refused in one sentence, before any step.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np

from .._core.errors import ConvergenceError, ScenarioError
from .evolve import _Stop, drive, save_times, stop_error
from .flows import FieldFlow
from .progress import FieldProgress
from .solution import FieldSolution
from .stepping import Integrator, StepControl

FORMAT = 1
MANIFEST = "steepest-run.json"
STORE = "fields.zarr"
CHECKPOINT = "checkpoint.npz"
LOG = "run.log"
CSV = "free_energy.csv"
SERIES = ("time", "free_energy", "modified_energy", "mass", "steps", "dt")
#: headroom on the projected size (metadata, compression that does not help, a second checkpoint)
SPACE_MARGIN = 1.25
SPACE_EXTRA = 16 * 2**20


# -- the output directory --------------------------------------------------------------------------
def _atomic_bytes(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    try:  # the rename itself reaches the disk with the directory
        fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError:
        pass


def _atomic_text(path: Path, text: str) -> None:
    _atomic_bytes(path, text.encode())


def projected_bytes(shape: tuple[int, ...], n_fields: int, n_save: int, state_bytes: int) -> int:
    """The store's size at the end: the saved fields (float64, uncompressed: the worst case),
    the time series, and a checkpoint (written beside the last one before the rename)."""
    field = 8 * int(np.prod(shape))
    return int(n_fields * field + 8 * len(SERIES) * n_save * 2 + 2 * state_bytes)


def prepare_directory(out: Path, needed: int, *, overwrite: bool = False) -> None:
    """Create ``out`` (or accept an empty one), prove it writable, and check the free space.

    Raises ScenarioError (key ``output.dir``) before anything is run.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ScenarioError(
            f"output.dir: {str(out)!r} is a file, not a directory; choose another --out.",
            key="output.dir",
        )
    if out.is_dir() and any(out.iterdir()):
        if not (out / MANIFEST).is_file():
            raise ScenarioError(
                f"output.dir: {str(out)!r} is not empty and holds no steepest run; choose a new "
                "directory (nothing was written).",
                key="output.dir",
            )
        if not overwrite:
            raise ScenarioError(
                f"output.dir: {str(out)!r} already holds a run; continue it with `steepest resume "
                f"{out}`, or choose a new directory (or pass overwrite=True).",
                key="output.dir",
            )
        for p in out.iterdir():
            shutil.rmtree(p) if p.is_dir() else p.unlink()
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / f".write-probe-{os.getpid()}"
        probe.write_bytes(b"steepest")
        probe.unlink()
    except OSError as err:
        raise ScenarioError(
            f"output.dir: cannot write to {str(out)!r} ({err.strerror or err}); choose a "
            "directory you can write to.",
            key="output.dir",
        ) from None
    free = shutil.disk_usage(out).free
    want = int(needed * SPACE_MARGIN) + SPACE_EXTRA
    if free < want:
        raise ScenarioError(
            f"output.dir: the run needs about {want / 2**20:.0f} MiB in {str(out)!r} but only "
            f"{free / 2**20:.0f} MiB are free; free some space, choose another --out, or save "
            "fewer fields (a larger output.every).",
            key="output.dir",
        )


_LOGS: dict[str, Any] = {}


def _close_log(out: Path) -> None:
    f = _LOGS.pop(str(out), None)
    if f is not None:
        f.close()


def _log(out: Path, line: str) -> None:
    # kept open, line-buffered: every line reaches the OS at once (a SIGKILL loses none), and
    # O_APPEND keeps the lines of two processes whole
    key = str(out)
    f = _LOGS.get(key)
    if f is None or f.closed:
        if len(_LOGS) > 8:
            for old in _LOGS.values():
                old.close()
            _LOGS.clear()
        f = _LOGS[key] = open(out / LOG, "a", buffering=1)  # noqa: SIM115
    f.write(f"{time.time():.3f} {os.getpid()} {line}\n")


# -- the store -------------------------------------------------------------------------------------
def field_indices(n_save: int, stride: int | None) -> list[int]:
    """The save indices whose field is stored: every ``stride``-th, and the last."""
    if not stride:
        return []
    ks = list(range(0, n_save, stride))
    return ks if ks[-1] == n_save - 1 else [*ks, n_save - 1]


def _create_store(out: Path, flow: FieldFlow, times: np.ndarray, stored: list[int]) -> None:
    import zarr

    grid = flow.grid
    dims = ("x", "y", "z")[: grid.ndim]
    n_save = len(times)
    g: Any = zarr.open_group(str(out / STORE), mode="w")
    for a, d in enumerate(dims):
        arr = g.create_array(d, shape=(grid.shape[a],), dtype="float64", dimension_names=(d,))
        arr[:] = grid.axis_points(a)
    for name in SERIES:
        g.create_array(
            name,
            shape=(n_save,),
            chunks=(min(n_save, 65536),),
            dtype="int64" if name == "steps" else "float64",
            fill_value=-1 if name == "steps" else np.nan,
            dimension_names=("time",),
        )
    if stored:
        ft = g.create_array(
            "field_time", shape=(len(stored),), dtype="float64", dimension_names=("field_time",)
        )
        ft[:] = times[stored]
        g.create_array(
            "c",
            shape=(len(stored), *grid.shape),
            chunks=(1, *grid.shape),
            dtype="float64",
            fill_value=np.nan,
            dimension_names=("field_time", *dims),
            attributes={"description": "the field at the times field_time"},
        )
    g.create_array(
        "c_final", shape=grid.shape, dtype="float64", fill_value=np.nan, dimension_names=dims
    )


def _write_series(out: Path, rec: dict[str, list]) -> None:
    import zarr

    g: Any = zarr.open_group(str(out / STORE), mode="r+")
    n = len(rec["time"])
    for name in SERIES:
        if n:
            g[name][:n] = np.asarray(rec[name])
    lines = ["time,free_energy"] + [
        f"{t!r},{F!r}" for t, F in zip(rec["time"], rec["free_energy"], strict=True)
    ]
    _atomic_text(out / CSV, "\n".join(lines) + "\n")


# -- the run ---------------------------------------------------------------------------------------
class _Run:
    """The state of one streamed run in this process: integrator, carry, records, store."""

    def __init__(self, out: Path, spec: dict[str, Any], flow: FieldFlow):
        self.out, self.spec, self.flow = out, spec, flow
        s = spec["settings"]
        self.times = np.asarray(spec["times"])
        control = StepControl.make(
            s["dt"], s["adaptive"], dt_min=s["dt_min"], dt_max=s["dt_max"], alpha=s["alpha"],
            rtol=s["rtol"], atol=s["atol"],
        )  # fmt: skip
        self.integ = Integrator(
            flow, s["scheme"], control, check_energy=s["check_energy"], params=s["params"],
            scheme_options=s["scheme_options"],
        )  # fmt: skip
        self.every = s["checkpoint_every"]
        self.seconds = s["checkpoint_seconds"]
        self.stored = {
            k: j for j, k in enumerate(field_indices(len(self.times), s["field_stride"]))
        }
        self.rec: dict[str, list] = {k: [] for k in SERIES}
        self.last_ckpt_wall = time.perf_counter()
        self.last_ckpt_n = 0
        self.last_log = 0.0
        self.n_checkpoints = 0
        self.wall_before = 0.0
        self.wall0 = time.perf_counter()
        self.last_c: np.ndarray | None = None
        self.g: Any = None

    def open_store(self) -> None:
        import zarr

        self.g = zarr.open_group(str(self.out / STORE), mode="r+")

    # saving and checkpointing
    def on_save(self, k: int, cr: dict[str, Any]) -> None:
        s = cr["state"]
        c = np.asarray(s["c"])
        r = self.rec
        r["time"].append(float(self.times[k]))
        r["free_energy"].append(float(s["F"]))
        r["modified_energy"].append(float(s["E"]))
        r["mass"].append(float(np.sum(c) * self.flow.grid.cell_volume))
        r["steps"].append(int(cr["n"]))
        r["dt"].append(float(cr["h"]))
        if k in self.stored:
            self.g["c"][self.stored[k]] = c
        self.last_c = c

    def on_segment(self, cr: dict[str, Any]) -> None:
        n = int(cr["n"])
        now = time.perf_counter()
        # every segment when they end on checkpoint multiples (the user chose that rate), else
        # at most one line a second: a day-long run keeps a short log
        if self.every is not None or now - self.last_log >= 1.0:
            _log(self.out, f"segment n={n} t={float(cr['t']):.17g}")
            self.last_log = now
        due_steps = self.every is not None and n > self.last_ckpt_n and n % self.every == 0
        due_time = (
            self.seconds is not None and time.perf_counter() - self.last_ckpt_wall >= self.seconds
        )
        if due_steps or due_time:
            self.checkpoint(cr)

    def step_limit(self, n: int) -> int:
        return (n // self.every + 1) * self.every

    def checkpoint(self, cr: dict[str, Any], *, finished: bool = False) -> None:
        import io

        k_next = len(self.rec["time"])
        _write_series(self.out, self.rec)  # the series up to k_next, before the checkpoint
        arrays: dict[str, Any] = {}
        for key, v in cr["state"].items():
            arrays[f"state.{key}"] = np.asarray(v)
        for key in ("t", "h", "n", "rejected", "status", "E0"):
            arrays[f"carry.{key}"] = np.asarray(cr[key])
        for key, v in self.p.items():
            arrays[f"p.{key}"] = np.asarray(v)
        for key, v in self.rec.items():
            arrays[f"rec.{key}"] = np.asarray(v, dtype=np.int64 if key == "steps" else float)
        arrays["k_next"] = np.asarray(k_next)
        arrays["finished"] = np.asarray(bool(finished))
        arrays["wall_s"] = np.asarray(self.wall_before + time.perf_counter() - self.wall0)
        arrays["n_checkpoints"] = np.asarray(self.n_checkpoints + 1)
        buf = io.BytesIO()
        np.savez(buf, **arrays)
        _atomic_bytes(self.out / CHECKPOINT, buf.getvalue())
        self.n_checkpoints += 1
        self.last_ckpt_wall = time.perf_counter()
        self.last_ckpt_n = int(cr["n"])
        _log(self.out, f"checkpoint n={int(cr['n'])} t={float(cr['t']):.17g} k_next={k_next}")

    def load(self) -> tuple[dict[str, Any], int, bool]:
        import jax.numpy as jnp

        try:
            with np.load(self.out / CHECKPOINT) as z:
                data = {k: z[k] for k in z.files}
        except (OSError, ValueError) as err:
            raise ScenarioError(
                f"resume: the checkpoint in {str(self.out)!r} cannot be read ({err}); the run "
                "cannot be continued from it.",
                key="resume",
            ) from None
        carry: dict[str, Any] = {"state": {}}
        for key, v in data.items():
            if key.startswith("state."):
                carry["state"][key[6:]] = jnp.asarray(v, dtype=v.dtype)
            elif key.startswith("carry."):
                carry[key[6:]] = jnp.asarray(v, dtype=v.dtype)
        self.p = {k[2:]: jnp.asarray(v, dtype=v.dtype) for k, v in data.items() if k[:2] == "p."}
        k_next = int(data["k_next"])
        for key in SERIES:
            self.rec[key] = list(np.asarray(data[f"rec.{key}"]).tolist())[:k_next]
        self.wall_before = float(data["wall_s"])
        self.n_checkpoints = int(data["n_checkpoints"])
        self.last_ckpt_n = int(carry["n"])
        if k_next - 1 in self.stored:
            self.last_c = np.asarray(self.g["c"][self.stored[k_next - 1]])
        return carry, k_next, bool(data["finished"])

    def go(self, carry: dict[str, Any], first: int, progress: Any) -> FieldSolution:
        bar = FieldProgress(
            progress, float(self.times[-1]), t0=float(carry["t"]), steps0=int(carry["n"])
        )

        def on_segment(cr: dict[str, Any]) -> None:
            self.on_segment(cr)
            bar.update(float(cr["t"]), int(cr["n"]), float(cr["state"]["F"]))

        try:
            carry = drive(
                self.integ, carry, self.p, self.times, first, self.on_save,
                max_steps=int(self.spec["settings"]["max_steps"]), chunked=True,
                on_segment=on_segment,
                step_limit=self.step_limit if self.every is not None else None,
            )  # fmt: skip
        except _Stop as stop:
            bar.close()
            self.finish(stop.carry, "failed")
            _close_log(self.out)
            raise stop_error(self.integ, stop.carry, self.solution(stop.carry, "failed")) from None
        except ConvergenceError:
            bar.close()
            raise
        finally:
            bar.close()
        self.finish(carry, "done")
        _close_log(self.out)
        return self.solution(carry, "done")

    def finish(self, cr: dict[str, Any], status: str) -> None:
        self.g["c_final"][...] = np.asarray(cr["state"]["c"])
        self.checkpoint(cr, finished=status == "done")
        _log(self.out, f"{status} n={int(cr['n'])} t={float(cr['t']):.17g}")

    def solution(self, cr: dict[str, Any], status: str) -> FieldSolution:
        r = self.rec
        final = self.last_c if self.last_c is not None else np.asarray(cr["state"]["c"])
        return FieldSolution(
            t=np.asarray(r["time"]),
            energy=np.asarray(r["free_energy"]),
            modified_energy=np.asarray(r["modified_energy"]),
            mass=np.asarray(r["mass"]),
            steps=np.asarray(r["steps"], dtype=np.int64),
            dt=np.asarray(r["dt"]),
            fields=None,
            final=final,
            flow=self.flow,
            stats={
                "scheme": self.integ.scheme,
                "order": self.integ.stepper.order,
                "promise": self.integ.stepper.promise,
                "controller": self.integ.control.kind,
                "steps": int(cr["n"]),
                "rejected": int(cr["rejected"]),
                "wall_s": self.wall_before + time.perf_counter() - self.wall0,
                "compile_s": self.integ.compile_s,
                "status": status,
                "checkpoints": self.n_checkpoints,
                "store": str(self.out / STORE),
            },
        )


def _fingerprint(spec: dict[str, Any]) -> str:
    keep = {k: spec[k] for k in ("settings", "flow", "times_n", "t1")}
    return hashlib.sha256(json.dumps(keep, sort_keys=True, default=str).encode()).hexdigest()[:16]


def stream(
    flow: FieldFlow,
    c0: Any,
    t1: float,
    *,
    out: str | os.PathLike,
    dt: float,
    scheme: str = "semi-implicit",
    adaptive: Any = None,
    dt_min: float | None = None,
    dt_max: float | None = None,
    alpha: float | None = None,
    rtol: float | None = None,
    atol: float | None = None,
    save_every: float | None = None,
    n_save: int | None = None,
    save_fields: bool = True,
    field_stride: int = 1,
    check_energy: bool = True,
    max_steps: int = 100_000_000,
    checkpoint_every: int | None = None,
    checkpoint_seconds: float | None = 300.0,
    progress: Any = False,
    scheme_options: dict[str, Any] | None = None,
    scenario: dict[str, Any] | None = None,
    title: str = "",
    overwrite: bool = False,
    **params: Any,
) -> FieldSolution:
    """:func:`~steepest.fields.evolve`, streamed into ``out`` with checkpoints (see the module).

    Args:
        out: the run directory (created; must be empty or hold a run, with ``overwrite``).
        checkpoint_every: a checkpoint every this many steps (segments end on its multiples).
        checkpoint_seconds: a checkpoint at the first segment end after this much wall time.
        save_fields, field_stride: store the field at every ``field_stride``-th save time (and
            the last); the energy and mass are kept at every save time.
        scenario: the scenario tables the flow was built from (stored in the manifest, so that
            ``steepest resume`` can rebuild it); without it, :func:`resume` needs the flow.
        The other arguments are those of :func:`~steepest.fields.evolve`.

    Returns:
        A :class:`FieldSolution` whose ``fields`` is None (they are in ``out/fields.zarr``; see
        :func:`open_run`).
    """
    if checkpoint_every is not None and (
        isinstance(checkpoint_every, bool)
        or not isinstance(checkpoint_every, int | np.integer)
        or checkpoint_every < 1
    ):
        raise ScenarioError(
            f"output.checkpoint_every: expected a whole number of steps ≥ 1, got "
            f"{checkpoint_every!r}.",
            key="output.checkpoint_every",
        )
    if checkpoint_seconds is not None and not (
        isinstance(checkpoint_seconds, int | float)
        and not isinstance(checkpoint_seconds, bool)
        and checkpoint_seconds > 0
    ):
        raise ScenarioError(
            f"output.checkpoint_seconds: expected a number of seconds > 0, got "
            f"{checkpoint_seconds!r}.",
            key="output.checkpoint_seconds",
        )
    if isinstance(field_stride, bool) or not isinstance(field_stride, int) or field_stride < 1:
        raise ScenarioError(
            f"output.field_every: expected a positive multiple of output.every, got "
            f"{field_stride!r} saves.",
            key="output.field_every",
        )
    times = save_times(t1, save_every, n_save)
    control = StepControl.make(
        dt, adaptive, dt_min=dt_min, dt_max=dt_max, alpha=alpha, rtol=rtol, atol=atol
    )
    c0 = flow.check_initial(c0, "initial")
    settings = {
        "dt": float(dt),
        "scheme": str(scheme),
        "adaptive": adaptive,
        "dt_min": dt_min,
        "dt_max": dt_max,
        "alpha": alpha,
        "rtol": rtol,
        "atol": atol,
        "field_stride": int(field_stride) if save_fields else 0,
        "check_energy": bool(check_energy),
        "max_steps": int(max_steps),
        "checkpoint_every": None if checkpoint_every is None else int(checkpoint_every),
        "checkpoint_seconds": None if checkpoint_seconds is None else float(checkpoint_seconds),
        "scheme_options": dict(scheme_options or {}),
        "params": {k: (None if v is None else float(v)) for k, v in params.items()},
    }
    spec: dict[str, Any] = {
        "kind": "field",
        "format": FORMAT,
        "title": title,
        "t1": float(times[-1]),
        "times_n": len(times),
        "times": [float(t) for t in times],
        "settings": settings,
        "flow": flow.describe(),
        "scenario": scenario,
        "controller": control.kind,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    spec["fingerprint"] = _fingerprint(spec)
    out = Path(out)
    _close_log(out)
    run = _Run(out, spec, flow)  # builds the integrator: bad settings fail here, not later
    carry, run.p = run.integ.start(c0)
    state_bytes = sum(np.asarray(v).nbytes for v in carry["state"].values())
    n_fields = len(field_indices(len(times), settings["field_stride"]))
    prepare_directory(
        out, projected_bytes(flow.grid.shape, n_fields, len(times), state_bytes),
        overwrite=overwrite,
    )  # fmt: skip
    _create_store(out, flow, times, field_indices(len(times), settings["field_stride"]))
    _atomic_text(out / MANIFEST, json.dumps(spec, indent=2, default=str) + "\n")
    run.open_store()
    _log(out, f"start n=0 t=0 saves={len(times)}")
    run.on_save(0, carry)
    run.checkpoint(carry)  # a run killed before its first interval resumes from t = 0
    return run.go(carry, 1, progress)


def read_manifest(out: str | os.PathLike) -> dict[str, Any]:
    out = Path(out)
    try:
        spec = json.loads((out / MANIFEST).read_text())
    except (OSError, ValueError):
        raise ScenarioError(
            f"resume: {str(out)!r} holds no readable {MANIFEST}; give the output directory of a "
            "field run.",
            key="resume",
        ) from None
    if spec.get("kind") != "field" or spec.get("format") != FORMAT:
        raise ScenarioError(
            f"resume: {str(out)!r} does not hold a steepest field run (format {FORMAT}).",
            key="resume",
        )
    return spec


def resume(
    out: str | os.PathLike, flow: FieldFlow | None = None, *, progress: Any = False
) -> FieldSolution:
    """Continue the run in ``out`` from its last checkpoint to its end time.

    ``flow`` is rebuilt from the stored scenario when the run came from one; otherwise pass the
    same flow again (its description must match the manifest's).
    """
    out = Path(out)
    spec = read_manifest(out)
    if flow is None:
        if not spec.get("scenario"):
            raise ScenarioError(
                f"resume: the run in {str(out)!r} was started from Python without a scenario; "
                "pass the same flow: fields.resume(out, flow).",
                key="resume",
            )
        from .scenario import build_flow

        flow = build_flow(spec["scenario"])
    if json.dumps(flow.describe(), sort_keys=True, default=str) != json.dumps(
        spec["flow"], sort_keys=True, default=str
    ):
        raise ScenarioError(
            f"resume: the flow given is not the one the run in {str(out)!r} was started with "
            f"({spec['flow'].get('pde')}).",
            key="resume",
        )
    _close_log(out)
    run = _Run(out, spec, flow)
    run.open_store()
    for p in out.glob(f".{CHECKPOINT}.*.tmp"):  # a checkpoint a kill left half-written
        p.unlink(missing_ok=True)
    carry, k_next, finished = run.load()
    _log(out, f"resume n={int(carry['n'])} t={float(carry['t']):.17g} k_next={k_next}")
    if finished:
        _close_log(out)
        return run.solution(carry, "done")
    return run.go(carry, k_next, progress)


def open_run(out: str | os.PathLike):
    """The stored run as an ``xarray.Dataset`` (lazy: the fields stay in Zarr)."""
    import xarray as xr

    spec = read_manifest(out)
    ds = xr.open_zarr(Path(out) / STORE, consolidated=False)
    ds = ds.set_coords("time") if "time" in ds else ds
    ds.attrs["pde"] = spec["flow"].get("pde", "")
    return ds


def is_finished(out: str | os.PathLike) -> bool:
    """Whether the run in ``out`` reached its end time (its last checkpoint says so)."""
    try:
        with np.load(Path(out) / CHECKPOINT) as z:
            return bool(z["finished"])
    except (OSError, ValueError, KeyError):
        return False
