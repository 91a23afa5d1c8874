"""Parameter sweeps: chunks into one Zarr store, on Dask or in-process, resumable after SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from typer.testing import CliRunner

import steepest as st
from steepest import ScenarioError
from steepest.cli.app import app
from steepest.parallel import computed_counts, open_sweep, sweep
from steepest.parallel.grid import check_grid, layout, parse_assignment

distributed = pytest.importorskip("distributed")

# gradient descent on the double well V = (x² − a²)² + k y² from two starts: every quantity
# below has a closed form (the minimum (±a, 0), its value 0; the stability limit 2/λ_max)
BASE = {
    "title": "double-well steps",
    "energy": {"name": "double-well"},
    "initial": {"points": [[0.4, 0.3], [-1.7, -0.2]]},
    "integrate": {"method": "euler", "t1": 4.0, "step": 0.01},
}
GRID = {"integrate.step": [0.005, 0.01, 0.02, 0.04], "energy.params.a": [0.8, 1.0, 1.5]}


def _arrays(ds):
    return {k: np.asarray(ds[k]) for k in ("x_final", "energy_final", "steps", "status")}


def _same(a, b):
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)


@pytest.fixture(scope="module")
def in_process(tmp_path_factory):
    out = tmp_path_factory.mktemp("sweep") / "here"
    return sweep(BASE, GRID, out=out, chunk_runs=2)


def test_results_have_the_swept_keys_as_dimensions(in_process):
    ds = in_process
    assert ds.sizes["integrate.step"] == 4 and ds.sizes["energy.params.a"] == 3
    assert ds.sizes["sample"] == 2 and ds.sizes["coordinate"] == 2
    assert list(ds["integrate.step"].values) == GRID["integrate.step"]
    assert ds.attrs["chunks"] == 8 and ds.attrs["chunks_done"] == 8  # blocks of 1 × 2 tile 4 × 3
    assert np.all(np.asarray(ds.run_status) == 1)
    # each run reached its own minimum: (±a, 0) with V = 0 (t1 = 4 of a flow with rate ≥ 2k = 2)
    for a in GRID["energy.params.a"]:
        xf = np.asarray(ds.x_final.sel({"energy.params.a": a}))
        np.testing.assert_allclose(np.abs(xf[..., 0]), a, atol=2e-3)
        assert np.all(np.sign(xf[:, :, 0]) == np.sign([0.4, -1.7]))
    assert ds.x_final.dtype == np.float64


def test_a_run_equals_its_single_solve(in_process):
    # the grid point (h = 0.02, a = 1.5) is exactly this st.solve
    V = st.potentials.get("double-well", a=1.5)
    sol = st.solve(st.GradientFlow(V), BASE["initial"]["points"], t1=4.0, method="euler", h=0.02)
    ds = in_process.sel({"integrate.step": 0.02, "energy.params.a": 1.5})
    np.testing.assert_array_equal(np.asarray(ds.x_final), sol.x_final)
    np.testing.assert_array_equal(np.asarray(ds.steps), sol.steps)


def test_on_a_two_worker_local_cluster_equals_in_process(in_process, tmp_path):
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            env={"XLA_FLAGS": "--xla_force_host_platform_device_count=1"},
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        ds = sweep(BASE, GRID, out=tmp_path / "cluster", chunk_runs=2, client=client)
        pids = {json.loads(p.read_text())["pid"] for p in (tmp_path / "cluster/chunks").iterdir()}
        workers = set(client.run(os.getpid).values())
    assert pids <= workers and len(pids) == 2  # computed on both workers, not in this process
    _same(_arrays(ds), _arrays(in_process))


def test_a_diverging_run_is_recorded_and_the_others_complete(tmp_path):
    grid = {"integrate.step": [0.01, 0.6]}  # 0.6 > 2/λ_max = 2/(8a²) = 0.25 at the minimum
    ds = sweep(BASE, grid, out=tmp_path / "s", chunk_runs=1)
    status = np.asarray(ds.run_status)
    assert status.tolist() == [1, 2]
    msg = str(ds.error.sel({"integrate.step": 0.6}).item())
    assert msg.startswith("FlowDiverged") and "stability limit" in msg
    assert str(ds.error.sel({"integrate.step": 0.01}).item()) == ""
    assert ds.attrs["chunks_with_failures"] == 1 and ds.attrs["chunks_done"] == 2
    np.testing.assert_allclose(
        np.asarray(ds.energy_final.sel({"integrate.step": 0.01})), 0, atol=1e-8
    )


def test_a_bad_parameter_value_fails_its_run_only(tmp_path):
    ds = sweep(BASE, {"integrate.method": ["euler", "leapfrog"]}, out=tmp_path / "s", chunk_runs=1)
    assert np.asarray(ds.run_status).tolist() == [1, 2]
    assert "integrate.method" in str(ds.error.sel({"integrate.method": "leapfrog"}).item())


def test_starts_are_split_between_chunks(tmp_path):
    base = {**BASE, "initial": {"random": {"n": 10, "seed": 3}}}
    whole = sweep(base, {"integrate.step": [0.01]}, out=tmp_path / "a")
    nine = {**BASE, "initial": {"random": {"n": 9, "seed": 4}}}
    sweep(nine, {"integrate.step": [0.01]}, out=tmp_path / "n", chunk_samples=3)  # 3 + 3 + 3
    counter = sys.modules["steepest.integrate.solve"].COMPILE_COUNT
    before = counter["n"]
    split = sweep(base, {"integrate.step": [0.01]}, out=tmp_path / "b", chunk_samples=3)
    assert split.attrs["chunks"] == 4 and whole.attrs["chunks"] == 1
    _same(_arrays(split), _arrays(whole))
    # chunks of 3, 3, 3 and 1: the last is padded to 3 and reuses the kernel of the others
    assert counter["n"] == before


def test_a_grid_that_changes_the_number_of_starts_fails_its_runs_with_a_reason(tmp_path):
    base = {**BASE, "initial": {"random": {"n": 4, "seed": 0}}}
    ds = sweep(base, {"initial.random.n": [4, 6]}, out=tmp_path / "s")
    assert np.asarray(ds.run_status).tolist() == [1, 2]
    msg = str(ds.error.sel({"initial.random.n": 6}).item())
    assert "number of starts" in msg and "unexpected" not in msg, msg


def test_default_sample_chunks_are_equal():
    # 100,000 starts: two chunks of 50,000 (not 65,536 + 34,464), one kernel for both
    assert layout((1,), 100_000).sample_chunk == 50_000
    assert layout((1,), 65_536).sample_chunk == 65_536
    assert layout((1,), 1_000_000).sample_chunk == 62_500


def test_same_sweep_twice_resumes_and_computes_nothing(tmp_path):
    sweep(BASE, {"integrate.step": [0.01, 0.02]}, out=tmp_path / "s", chunk_runs=1)
    sweep(BASE, {"integrate.step": [0.01, 0.02]}, out=tmp_path / "s", chunk_runs=1)
    assert computed_counts(tmp_path / "s") == {0: 1, 1: 1}


def test_killed_sweep_resumes_with_the_missing_chunks_only(tmp_path):
    """SIGKILL the driver after some chunks; `steepest resume` finishes; the store equals an
    uninterrupted sweep's and every chunk was computed to the end exactly once."""
    scenario = tmp_path / "slow.toml"
    scenario.write_text(
        'title = "slow"\n[energy]\nname = "double-well"\n'
        "[initial]\npoints = [[0.4, 0.3], [-1.7, -0.2]]\n"
        '[integrate]\nmethod = "rk4"\nt1 = 20.0\nstep = 5e-5\n'
    )
    grid = ["energy.params.a=0.8:1.6:8"]
    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "steepest", "sweep", str(scenario), "--grid", grid[0],
           "--out", str(out), "--in-process", "--chunk-runs", "1"]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    marks = out / "chunks"
    t0 = time.monotonic()
    while time.monotonic() - t0 < 120:
        if marks.is_dir() and len(list(marks.glob("*.json"))) >= 3:
            break
        if proc.poll() is not None:
            pytest.fail("the sweep finished before it could be killed; make its runs longer")
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done_before = len(list(marks.glob("*.json")))
    assert 3 <= done_before < 8
    r = CliRunner().invoke(app, ["resume", str(out)])
    assert r.exit_code == 0, r.output
    counts = computed_counts(out)
    assert sorted(counts) == list(range(8)) and set(counts.values()) == {1}
    fresh = sweep(scenario, grid, out=tmp_path / "fresh", chunk_runs=1)
    _same(_arrays(open_sweep(out)), _arrays(fresh))


# -- the CLI and bad input ----------------------------------------------------------------------
def test_cli_sweep(tmp_path):
    r = CliRunner().invoke(
        app,
        ["sweep", "examples/muller-brown.toml", "--grid", "integrate.step=1e-4,2e-4",
         "--out", str(tmp_path / "s"), "--in-process"],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "2 run(s) ok, 0 failed" in r.output
    ds = open_sweep(tmp_path / "s")
    assert ds.sizes["integrate.step"] == 2 and ds.sizes["sample"] == 4


def test_unknown_grid_key_is_refused(tmp_path):
    with pytest.raises(ScenarioError, match=r"grid.integrate.stpe: .*did you mean integrate.step"):
        sweep(BASE, {"integrate.stpe": [0.1]}, out=tmp_path / "s")
    try:
        sweep(BASE, {"integrate.stpe": [0.1]}, out=tmp_path / "s")
    except ScenarioError as err:
        assert str(err).count("integrate.stpe:") == 1, str(err)  # the key is named once
    assert not (tmp_path / "s").exists()
    r = CliRunner().invoke(
        app, ["sweep", "examples/muller-brown.toml", "--grid", "metric.knd=euclidean",
              "--out", str(tmp_path / "c")],
    )  # fmt: skip
    assert r.exit_code == 2 and "metric.knd" in r.output and "Traceback" not in r.output


@pytest.mark.parametrize(
    "grid, match",
    [
        ({"integrate.step": []}, "empty"),
        (["integrate.step="], "empty"),
        (["integrate.step"], "key=v1,v2"),
        ({"integrate.step": [0.1, 0.1]}, "repeated"),
        ({"integrate.step": 0.1}, "list of values"),
        ({}, "mapping"),
    ],
)
def test_bad_grids_are_refused(grid, match, tmp_path):
    with pytest.raises(ScenarioError, match=match):
        sweep(BASE, grid, out=tmp_path / "s")


@pytest.mark.parametrize("silent", [False, True], ids=["refused", "silent"])
def test_scheduler_that_does_not_answer_fails_fast(tmp_path, silent):
    import socket

    with socket.socket() as sock:
        if silent:  # accepts the TCP connection (the kernel's backlog) and never says a word
            sock.bind(("127.0.0.1", 0))
            sock.listen(8)
            address = f"tcp://127.0.0.1:{sock.getsockname()[1]}"
        else:  # nothing listens on the discard port: the connection is refused
            address = "tcp://127.0.0.1:9"
        t0 = time.monotonic()
        r = CliRunner().invoke(
            app,
            ["sweep", "examples/muller-brown.toml", "--grid", "integrate.step=1e-4,2e-4",
             "--scheduler", address, "--out", str(tmp_path / "s")],
        )  # fmt: skip
        assert time.monotonic() - t0 < 10
    assert r.exit_code == 2 and "could not reach a Dask scheduler" in r.output, r.output
    assert "Traceback" not in r.output


def test_progress_counts_each_chunk_s_own_starts(tmp_path):
    from steepest.parallel.sweeps import MARKS, read_manifest, trajectories

    base = {**BASE, "initial": {"random": {"n": 10, "seed": 3}}}
    out = tmp_path / "s"
    sweep(base, {"integrate.step": [0.01, 0.02]}, out=out, chunk_samples=3, chunk_runs=1)
    spec = read_manifest(out)
    records = [json.loads(p.read_text()) for p in sorted((out / MARKS).glob("*.json"))]
    assert len(records) == 8  # 2 steps x 4 slices of starts (3, 3, 3, 1)
    assert sum(trajectories(r, spec) for r in records) == 2 * 10


def test_directory_with_another_sweep_is_refused_unless_overwrite(tmp_path):
    out = tmp_path / "s"
    sweep(BASE, {"integrate.step": [0.01]}, out=out)
    with pytest.raises(ScenarioError, match="holds a different sweep"):
        sweep(BASE, {"integrate.step": [0.02]}, out=out)
    ds = sweep(BASE, {"integrate.step": [0.02]}, out=out, overwrite=True)
    assert list(ds["integrate.step"].values) == [0.02]
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "thesis.tex").write_text("keep me")
    for ow in (False, True):
        with pytest.raises(ScenarioError, match="does not hold a steepest sweep"):
            sweep(BASE, {"integrate.step": [0.01]}, out=foreign, overwrite=ow)
    assert (foreign / "thesis.tex").read_text() == "keep me"


def test_grid_parsing_and_chunk_layout():
    assert parse_assignment("integrate.step=1e-3,2e-3") == ("integrate.step", [1e-3, 2e-3])
    assert parse_assignment("integrate.method=rk4,euler") == ("integrate.method", ["rk4", "euler"])
    assert parse_assignment("a.b=0:1:5")[1] == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert parse_assignment("a.b=[1, 2],[3, 4]")[1] == [[1, 2], [3, 4]]
    g = check_grid(["a.b=1,2,3", "c.d=x,y"])
    assert list(g) == ["a.b", "c.d"]
    lay = layout((5, 4), 10, chunk_runs=6, chunk_samples=4)
    assert lay.block == (1, 4) and lay.n_sample_chunks == 3 and lay.n_chunks == 15
    cover = np.zeros((5, 4, 10), int)
    for cid in range(lay.n_chunks):
        region, s = lay.chunk(cid)
        cover[(*region, s)] += 1
    assert np.all(cover == 1)  # the chunks tile the grid × starts exactly once
