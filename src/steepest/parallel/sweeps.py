"""Parameter sweeps: the Cartesian product of scenario values, in chunks, into one Zarr store.

``sweep(scenario, grid, out=DIR)`` runs every combination of the grid's values (and splits a
scenario's batch of starts, if it has one) in chunks; each chunk is a task — in-process, or on a
Dask cluster — that runs its grid points one compiled, vmapped solve each and writes its block
of every result array straight into ``DIR/results.zarr``. The swept keys are the dimensions of
the result (an ``xarray.Dataset``, see :func:`open_sweep`).

Nothing is lost and nothing is done twice: a chunk is finished when its marker
``DIR/chunks/<id>.json`` exists (written atomically, after its data), so a sweep that is killed
resumes (:func:`resume`, ``steepest resume DIR``) with only the chunks that have no marker; every
finished computation appends one line to ``DIR/computed.log``. A run that fails (a diverged
flow, a bad parameter value) is recorded with its message and does not stop the others.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np

from .._core.errors import ScenarioError, SteepestError
from .dask import client_for
from .grid import Layout, check_grid, label, layout
from .runners import Output, failure_message, runner_for

FORMAT = 1
MANIFEST = "steepest-run.json"
STORE = "results.zarr"
MARKS = "chunks"
LOG = "computed.log"
RUN_OK, RUN_FAILED = 1, 2  #: values of the stored ``run_status`` (0: not computed yet)


# -- the specification ---------------------------------------------------------------------------
def _scenario_data(scenario: Any) -> tuple[dict[str, Any], str]:
    from ..scenario import schema

    if isinstance(scenario, dict):
        return copy.deepcopy(scenario), str(scenario.get("title", "sweep"))
    if isinstance(scenario, str | os.PathLike):
        path = Path(scenario)
        data = schema.read(path)
        return data, str(data.get("title", path.stem))
    raise ScenarioError(
        f"scenario: expected a scenario file path or a dict of its tables, got "
        f"{type(scenario).__name__}.",
        key="scenario",
    )


def point_data(base: dict[str, Any], grid: dict[str, list[Any]], idx: tuple[int, ...]) -> dict:
    """The scenario of one grid point: the base with each swept key set to its value."""
    data = copy.deepcopy(base)
    for (key, values), i in zip(grid.items(), idx, strict=True):
        node = data
        parts = key.split(".")
        for p in parts[:-1]:
            nxt = node.setdefault(p, {})
            if not isinstance(nxt, dict):
                raise ScenarioError(f"grid.{key}: {p!r} is not a table of the scenario.", key=key)
            node = nxt
        node[parts[-1]] = copy.deepcopy(values[i])
    return data


def _check_keys(runner: Any, base: dict, grid: dict[str, list[Any]]) -> None:
    """Every grid key must be a key the scenario knows: tried with each key's first value alone
    (a bad *value* is the run's failure, recorded; a bad *key* is the sweep's, refused now)."""
    for key, values in grid.items():
        try:
            runner.validate(point_data(base, {key: values[:1]}, (0,)))
        except ScenarioError as err:
            if "unknown key" in str(err) or err.key == key.split(".")[0]:
                msg = str(err)
                if msg.startswith(f"{key}: "):  # the scenario's message already names the key
                    msg = msg[len(key) + 2 :]
                raise ScenarioError(f"grid.{key}: {msg}", key=key) from None


def _first_valid(runner: Any, base: dict, grid: dict, shape: tuple[int, ...]):
    """Output layout from the first grid point whose scenario is valid."""
    first: ScenarioError | None = None
    for idx in np.ndindex(*shape):
        data = point_data(base, grid, tuple(int(i) for i in idx))
        try:
            return runner.outputs(data), runner.n_samples(data)
        except ScenarioError as err:
            first = first or err
    raise ScenarioError(f"grid: no grid point gives a valid scenario; the first says: {first}")


def _fingerprint(spec: dict[str, Any]) -> str:
    keep = {k: spec[k] for k in ("format", "scenario", "grid", "layout")}
    return hashlib.sha256(json.dumps(keep, sort_keys=True).encode()).hexdigest()[:16]


def _layout(spec: dict[str, Any]) -> Layout:
    lay = spec["layout"]
    return Layout(tuple(lay["shape"]), tuple(lay["block"]), lay["n_samples"], lay["sample_chunk"])


def _outputs(spec: dict[str, Any]) -> dict[str, Output]:
    return {
        k: Output(tuple(v["dims"]), tuple(v["shape"]), v["dtype"], v.get("description", ""))
        for k, v in spec["outputs"].items()
    }


# -- the store -------------------------------------------------------------------------------------
def _prepare(out: Path, spec: dict[str, Any], overwrite: bool) -> None:
    """Create the sweep directory, or accept it for resuming; never delete foreign data."""
    manifest = out / MANIFEST
    if out.exists() and any(out.iterdir()):
        old = None
        try:
            old = json.loads(manifest.read_text())
        except (OSError, ValueError):
            pass
        if not old or old.get("kind") != "sweep":
            raise ScenarioError(
                f"out: {out} exists and does not hold a steepest sweep; choose a new directory "
                "(nothing was written).",
                key="out",
            )
        if old.get("fingerprint") == spec["fingerprint"] and not overwrite:
            return  # the same sweep: resume it
        if not overwrite:
            raise ScenarioError(
                f"out: {out} holds a different sweep ({old.get('title')!r}, grid "
                f"{', '.join(old.get('grid', {}))}); pass --overwrite (overwrite=True) to replace "
                "it, `steepest resume` to continue it, or choose a new directory.",
                key="out",
            )
        shutil.rmtree(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        (out / MARKS).mkdir(exist_ok=True)
        _create_store(out / STORE, spec)
        _atomic_write(manifest, json.dumps(spec, indent=2) + "\n")
    except OSError as err:
        raise ScenarioError(
            f"out: cannot write the sweep to {str(out)!r}: {err.strerror or err}.", key="out"
        ) from None


def _create_store(path: Path, spec: dict[str, Any]) -> None:
    import zarr

    lay = _layout(spec)
    names = list(spec["grid"])
    g: Any = zarr.open_group(str(path), mode="w")
    for name, o in _outputs(spec).items():
        shape, chunks = list(lay.shape), list(lay.block)
        for d, n in zip(o.dims, o.shape, strict=True):
            shape.append(n)
            chunks.append(lay.sample_chunk if d == "sample" and lay.sample_chunk else n)
        g.create_array(
            name,
            shape=tuple(shape),
            chunks=tuple(chunks),
            dtype=o.dtype,
            fill_value=o.fill,
            dimension_names=(*names, *o.dims),
            attributes={"description": o.description},
        )
    g.create_array(
        "run_status",
        shape=(*lay.shape, lay.n_sample_chunks),
        chunks=(*lay.block, 1),
        dtype="int8",
        fill_value=0,
        dimension_names=(*names, "sample_chunk"),
        attributes={"description": "0 not computed, 1 ok, 2 failed (see the chunk markers)"},
    )


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _done(out: Path, n_chunks: int) -> set[int]:
    done = set()
    for p in (out / MARKS).glob("*.json"):
        try:
            cid = int(p.stem)
        except ValueError:
            continue
        if 0 <= cid < n_chunks:
            done.add(cid)
    return done


# -- one chunk (runs on a worker) ------------------------------------------------------------------
def run_chunk(shared: tuple[str, dict[str, Any]], cid: int) -> dict[str, Any]:
    """Compute chunk ``cid`` of the sweep in directory ``out`` and store it; return its record."""
    import zarr

    import steepest  # noqa: F401  (float64 on the worker)

    from .._core.config import enable_compilation_cache

    enable_compilation_cache()
    t0 = time.perf_counter()
    out_s, spec = shared
    out = Path(out_s)
    lay, outputs, grid = _layout(spec), _outputs(spec), spec["grid"]
    region, samples = lay.chunk(cid)
    runner = runner_for(spec["scenario"])
    block = tuple(r.stop - r.start for r in region)
    n_here = None if samples is None else samples.stop - samples.start
    bufs = {}
    for name, o in outputs.items():
        shape = tuple(n_here if d == "sample" else n for d, n in zip(o.dims, o.shape, strict=True))
        bufs[name] = np.full((*block, *shape), o.fill, dtype=o.dtype)
    status = np.zeros(block, dtype=np.int8)
    errors: dict[str, str] = {}
    for idx in lay.points(region):
        local = tuple(i - r.start for i, r in zip(idx, region, strict=True))
        try:
            data = point_data(spec["scenario"], grid, idx)
            if samples is not None and runner.n_samples(data) != lay.n_samples:
                raise ScenarioError(
                    f"this grid point has {runner.n_samples(data)} starts, the sweep "
                    f"{lay.n_samples}; the number of starts must not change across the grid, "
                    "so sweep keys that keep it.",
                    key="initial",
                )
            if samples is None:
                arrays = runner.run(data, samples)
            else:  # the last slice of starts is padded to the chunk size: no new kernel for it
                arrays = runner.run(data, samples, pad_to=lay.sample_chunk)
            _place(bufs, arrays, local)
            status[local] = RUN_OK
        except Exception as err:  # a run's failure is recorded; the chunk goes on
            status[local] = RUN_FAILED
            errors[json.dumps(list(idx))] = failure_message(err)
            partial = getattr(err, "partial", None)
            if partial is not None:
                try:
                    _place(bufs, partial, local)
                except ValueError:
                    pass
    g: Any = zarr.open_group(str(out / STORE), mode="r+")
    for name, o in outputs.items():
        sel = list(region)
        for d in o.dims:
            sel.append(samples if d == "sample" and samples is not None else slice(None))
        g[name][tuple(sel)] = bufs[name]
    s_index = 0 if samples is None else samples.start // lay.sample_chunk
    g["run_status"][(*region, slice(s_index, s_index + 1))] = status[..., None]
    record = {
        "chunk": cid,
        "status": "failed" if errors else "done",
        "runs": int(status.size),
        "failed_runs": len(errors),
        "errors": errors,
        "samples": None if samples is None else [samples.start, samples.stop],
        "wall_s": time.perf_counter() - t0,
        "pid": os.getpid(),
    }
    _atomic_write(out / MARKS / f"{cid}.json", json.dumps(record) + "\n")
    with open(out / LOG, "a") as f:  # one short line per computation: O_APPEND keeps lines whole
        f.write(f"{cid} {os.getpid()} {record['status']} {record['wall_s']:.3f}\n")
    return {k: v for k, v in record.items() if k != "errors"}


def _place(bufs: dict[str, np.ndarray], arrays: dict[str, Any], local: tuple[int, ...]) -> None:
    for name, buf in bufs.items():
        a = np.asarray(arrays[name])
        if a.shape != buf.shape[len(local) :]:
            raise ScenarioError(
                f"{name}: this grid point's run returned shape {a.shape}, the sweep stores "
                f"{buf.shape[len(local) :]}; the number of starts (and the shape of every "
                "result) must not change across the grid, so sweep keys that keep it.",
                key=name,
            )
        buf[local] = a


# -- the driver ------------------------------------------------------------------------------------
def sweep(
    scenario: Any,
    grid: Any,
    *,
    out: str | os.PathLike,
    client: Any = None,
    chunk_runs: int | None = None,
    chunk_samples: int | None = None,
    overwrite: bool = False,
    progress: bool = False,
):
    """Run a scenario over the Cartesian product of ``grid`` and return the results.

    Args:
        scenario: a scenario TOML path, or its tables as a dict (any kind ``steepest run``
            takes that has a sweep runner: flows on Rⁿ, field runs).
        grid: ``{"integrate.step": [1e-3, 2e-3], "energy.params.a": [1, 2]}`` (dotted keys,
            lists of values), or CLI-style strings ``["integrate.step=1e-3,2e-3"]``.
        out: the sweep directory (``results.zarr``, ``steepest-run.json``, chunk markers). An
            unfinished sweep with the same settings there is resumed; a different one is
            refused unless ``overwrite``.
        client: None (in-process), ``"local"`` (a ``LocalCluster`` with one single-threaded
            worker per core; ``"local:N"``, N workers), a ``distributed.Client``, or a
            scheduler address.
        chunk_runs: grid points per chunk (default ≈ 1/16 of the grid).
        chunk_samples: starts per chunk, for scenarios with a batch of starts (default all, up to
            65,536).
        progress: show chunks done, runs/s and the ETA (and the dashboard address on a cluster).

    Returns:
        The results as an ``xarray.Dataset`` (see :func:`open_sweep`).

    Examples:
        >>> import steepest as st, tempfile
        >>> sc = {"energy": {"name": "double-well"}, "initial": {"points": [[0.5, 0.3]]},
        ...       "integrate": {"method": "euler", "t1": 1.0}}
        >>> ds = st.parallel.sweep(sc, {"integrate.step": [0.01, 0.02]}, out=tempfile.mkdtemp())
        >>> ds.sizes["integrate.step"], int(ds.run_status.min())
        (2, 1)
    """
    base, title = _scenario_data(scenario)
    grid = check_grid(grid)
    runner = runner_for(base)
    _check_keys(runner, base, grid)
    shape = tuple(len(v) for v in grid.values())
    outputs, n_samples = _first_valid(runner, base, grid, shape)
    lay = layout(shape, n_samples, chunk_runs=chunk_runs, chunk_samples=chunk_samples)
    spec: dict[str, Any] = {
        "kind": "sweep",
        "format": FORMAT,
        "title": title,
        "scenario_kind": runner.kind,
        "scenario": base,
        "grid": grid,
        "layout": {
            "shape": list(lay.shape),
            "block": list(lay.block),
            "n_samples": lay.n_samples,
            "sample_chunk": lay.sample_chunk,
            "n_chunks": lay.n_chunks,
        },
        "outputs": {
            k: {
                "dims": list(o.dims),
                "shape": list(o.shape),
                "dtype": o.dtype,
                "description": o.description,
            }
            for k, o in outputs.items()
        },  # fmt: skip
    }
    spec["fingerprint"] = _fingerprint(spec)
    out = Path(out)
    _prepare(out, spec, overwrite)
    return _drive(out, spec, client, progress)


def resume(out: str | os.PathLike, *, client: Any = None, progress: bool = False):
    """Finish a sweep that was interrupted: only the chunks without a marker are computed."""
    out = Path(out)
    spec = read_manifest(out)
    return _drive(out, spec, client, progress)


def read_manifest(out: Path) -> dict[str, Any]:
    try:
        spec = json.loads((out / MANIFEST).read_text())
    except (OSError, ValueError):
        raise ScenarioError(
            f"out: {out} holds no readable {MANIFEST}; it is not a sweep directory.", key="out"
        ) from None
    if spec.get("kind") != "sweep" or spec.get("format") != FORMAT:
        raise ScenarioError(f"out: {out} does not hold a steepest sweep (format {FORMAT}).")
    return spec


def pending(out: str | os.PathLike) -> int:
    """How many chunks of the sweep in ``out`` are not finished."""
    spec = read_manifest(Path(out))
    n = spec["layout"]["n_chunks"]
    return n - len(_done(Path(out), n))


def _drive(out: Path, spec: dict[str, Any], client: Any, progress: bool):
    n = spec["layout"]["n_chunks"]
    todo = sorted(set(range(n)) - _done(out, n))
    lost: list[str] = []
    if todo:
        with _cluster(client) as cl, _Progress(progress, n, n - len(todo), cl) as bar:
            for rec in _chunk_records(out, spec, todo, cl, lost):
                bar.advance(trajectories(rec, spec), rec["status"] == "failed")
        if lost:
            raise SteepestError(
                f"sweep: {len(lost)} chunk(s) could not be stored ({lost[0]}); the others are in "
                f"{out}; `steepest resume {out}` retries the missing ones."
            )
    return open_sweep(out)


def trajectories(record: dict[str, Any], spec: dict[str, Any]) -> int:
    """How many trajectories a chunk's record stands for: its grid points times the starts in
    its own slice of starts (not the sweep's total, which a chunk holds only when starts are not
    split)."""
    if record.get("samples") is not None:
        a, b = record["samples"]
        return int(record["runs"]) * (b - a)
    return int(record["runs"]) * (spec["layout"]["n_samples"] or 1)


def _chunk_records(out: Path, spec: dict, todo: list[int], client: Any, lost: list[str]):
    """Run the chunks (in-process, or one task each on the cluster, as they complete) and yield
    their records; a chunk whose task itself fails is noted in ``lost`` (it has no marker, so
    a resume retries it) and the others go on. The specification is small (the scenario's
    tables and the grid), so it travels with every task instead of being scattered."""
    shared = (str(out), spec)
    if client is None:
        for cid in todo:
            try:
                yield run_chunk(shared, cid)
            except Exception as err:
                lost.append(failure_message(err))
        return
    from distributed import as_completed

    futures = [client.submit(run_chunk, shared, cid, pure=False) for cid in todo]
    try:
        for f in as_completed(futures, loop=client.loop):  # the client need not be the default
            try:
                yield f.result()
            except Exception as err:
                lost.append(failure_message(err))
    finally:
        for f in futures:
            f.cancel()


class _cluster:
    """``client`` resolved; ``"local"`` (or ``"local:N"``, N workers) starts a LocalCluster
    sized to the machine, closed on exit."""

    def __init__(self, client: Any):
        self.client = client
        self._own: Any = None
        self._ctx: Any = None

    def __enter__(self):
        if isinstance(self.client, str) and self.client.split(":")[0] == "local":
            n = self.client.split(":")[1] if ":" in self.client else ""
            if n and not n.isdigit():
                raise ScenarioError(f"client: {self.client!r}: expected local or local:N.")
            self._own = local_cluster(int(n) if n else None)
            return self._own
        self._ctx = client_for(self.client)
        return self._ctx.__enter__()

    def __exit__(self, *exc):
        if self._own is not None:
            cluster = self._own.cluster
            self._own.close()
            cluster.close()
        elif self._ctx is not None:
            self._ctx.__exit__(*exc)


def local_cluster(n_workers: int | None = None):
    """A client of a new LocalCluster: one single-threaded worker process per core, each with
    one XLA host device (the cores are the workers' to share, not each worker's to split)."""
    import logging

    from distributed import Client, LocalCluster

    cluster = LocalCluster(
        n_workers=n_workers or os.cpu_count() or 1,
        threads_per_worker=1,
        processes=True,
        dashboard_address=":0",
        silence_logs=logging.ERROR,
        env={"XLA_FLAGS": "--xla_force_host_platform_device_count=1", "STEEPEST_HOST_DEVICES": "1"},
    )
    return Client(cluster, set_as_default=False)


class _Progress:
    """Chunks done, runs per second and the ETA of the whole sweep (rich), or nothing."""

    def __init__(self, show: bool, total: int, done: int, client: Any):
        self.show, self.total, self.done, self.client = show, total, done, client
        self.failed = 0
        self.runs = 0
        self.t0 = time.perf_counter()

    def __enter__(self):
        if not self.show:
            return self
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

        console = Console(stderr=True)
        if self.client is not None:
            link = getattr(self.client, "dashboard_link", None)
            workers = len(self.client.scheduler_info().get("workers", {}))
            console.print(
                f"Dask: {workers} worker(s); dashboard {link or 'not available'}", highlight=False
            )
        self._p = Progress(
            TextColumn("[bold]sweep"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total} chunks"),
            TextColumn("{task.fields[rate]}"),
            TextColumn("{task.fields[failed]}"),
            TimeRemainingColumn(),
            console=console,
            transient=False,
        )
        self._p.__enter__()
        self._task = self._p.add_task(
            "sweep", total=self.total, completed=self.done, rate="", failed=""
        )
        return self

    def advance(self, runs: int, failed: bool) -> None:
        self.done += 1
        self.runs += runs
        self.failed += int(failed)
        if self.show:
            rate = self.runs / max(time.perf_counter() - self.t0, 1e-9)
            self._p.update(
                self._task,
                completed=self.done,
                rate=f"{rate:.3g} runs/s",
                failed=f"{self.failed} with failures" if self.failed else "",
            )

    def __exit__(self, *exc):
        if self.show:
            self._p.__exit__(*exc)


# -- reading the result ----------------------------------------------------------------------------
def open_sweep(out: str | os.PathLike):
    """The results of the sweep in ``out`` as an ``xarray.Dataset`` (lazy, chunked like the store).

    Dimensions: one per swept key (coordinates: its values; a value that is a list is labelled by
    its JSON text), then each output's own (``sample``, ``coordinate``, …). ``run_status`` says
    for every grid point (and chunk of starts) 1 ok, 2 failed, 0 not computed; ``error`` holds
    each failed run's message. Attributes: the scenario, the grid, chunks done and failed.
    """
    import xarray as xr

    out = Path(out)
    spec = read_manifest(out)
    ds = xr.open_zarr(str(out / STORE), consolidated=False)
    coords = {k: [label(v) for v in vs] for k, vs in spec["grid"].items()}
    ds = ds.assign_coords(coords)
    n = spec["layout"]["n_chunks"]
    done = _done(out, n)
    names = list(spec["grid"])
    status = ds["run_status"]
    err = np.full(status.shape, "", dtype=object)
    failed_chunks = 0
    lay = _layout(spec)
    for cid in done:
        rec = json.loads((out / MARKS / f"{cid}.json").read_text())
        if rec.get("errors"):
            failed_chunks += 1
            s = 0 if rec.get("samples") is None else rec["samples"][0] // (lay.sample_chunk or 1)
            for key, msg in rec["errors"].items():
                err[(*json.loads(key), s)] = msg
    ds["error"] = (status.dims, err)
    if lay.n_sample_chunks == 1:
        ds = ds.isel(sample_chunk=0, drop=True)
    ds.attrs.update(
        {
            "title": spec["title"],
            "scenario": json.dumps(spec["scenario"]),
            "grid": json.dumps(spec["grid"]),
            "swept": names,
            "chunks": n,
            "chunks_done": len(done),
            "chunks_with_failures": failed_chunks,
        }
    )
    return ds


def computed_counts(out: str | os.PathLike) -> dict[int, int]:
    """How many times each chunk was computed to the end (from ``computed.log``)."""
    counts: dict[int, int] = {}
    try:
        lines = (Path(out) / LOG).read_text().splitlines()
    except OSError:
        return counts
    for line in lines:
        if line.strip():
            cid = int(line.split()[0])
            counts[cid] = counts.get(cid, 0) + 1
    return counts


def resume_cli(directory: Path) -> int:
    """``steepest resume DIR`` for a sweep."""
    from ..cli._console import fail

    try:
        left = pending(directory)
        client = "local" if left >= 4 else None
        ds = resume(directory, client=client, progress=True)
    except SteepestError as err:  # a bad directory, or chunks that could not be stored
        fail(str(err))
    print(summary_line(directory, ds))
    return 0 if ds.attrs["chunks_with_failures"] == 0 else 1


def summary_line(out: Path, ds: Any) -> str:
    status = np.asarray(ds["run_status"])
    ok, bad = int(np.sum(status == RUN_OK)), int(np.sum(status == RUN_FAILED))
    dims = ", ".join(f"{k} ({ds.sizes[k]})" for k in ds.attrs["swept"])
    return (
        f"sweep {ds.attrs['title']!r} over {dims}: {ok} run(s) ok, {bad} failed, "
        f"{ds.attrs['chunks_done']}/{ds.attrs['chunks']} chunks; results in {out}/{STORE} "
        "(st.parallel.open_sweep reads them)"
    )


__all__ = ["computed_counts", "open_sweep", "pending", "resume", "sweep"]
