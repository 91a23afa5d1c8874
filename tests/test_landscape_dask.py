"""The landscape on a real Dask cluster: the same answers as in-process, and resumable stores."""

import importlib
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import steepest as st
from steepest.landscape.basins import basins, open_basins

distributed = pytest.importorskip("distributed")
basins_mod = importlib.import_module("steepest.landscape.basins")


@pytest.fixture(scope="module")
def client():
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as c,
    ):
        yield c


def _same_map(a, b):
    np.testing.assert_array_equal(np.asarray(a.labels), np.asarray(b.labels))
    np.testing.assert_array_equal(a.minima, b.minima)
    np.testing.assert_array_equal(a.fractions, b.fractions)
    assert (a.unconverged, a.not_a_minimum) == (b.unconverged, b.not_a_minimum)


def test_basins_on_two_workers_equal_in_process(client, tmp_path):
    V = st.potentials.get("himmelblau")
    here = basins(V, resolution=120, chunk_points=1500)
    there = basins(V, resolution=120, chunk_points=1500, client=client)
    assert there.stats["workers"] == 2 and there.stats["chunks"] == 10
    _same_map(here, there)
    # workers writing into a Zarr store, reached by the scheduler's address
    stored = basins(
        V,
        resolution=120,
        chunk_points=1500,
        client=client.scheduler.address,
        store=tmp_path / "bm.zarr",
    )
    _same_map(here, stored)
    _same_map(here, open_basins(tmp_path / "bm.zarr"))


def test_multistart_search_on_two_workers_equals_in_process(client):
    V = st.potentials.get("himmelblau")
    here = st.landscape.critical_points(V)
    there = st.landscape.critical_points(V, client=client)
    assert here.counts == {"minimum": 4, "saddle": 4, "maximum": 1, "degenerate": 0}
    assert len(here) == len(there) and here.counts == there.counts
    np.testing.assert_array_equal([p.x for p in here], [p.x for p in there])


def test_store_resumes_after_a_crash(tmp_path, monkeypatch):
    """A run that dies after three chunks resumes with only the missing chunks."""
    V = st.potentials.get("himmelblau")
    kw = dict(resolution=(90, 60), chunk_points=900)
    ref = basins(V, **kw)
    real, calls = basins_mod._run_chunk, []

    def dying(job, rows):
        if len(calls) == 3:
            raise KeyboardInterrupt("killed")
        calls.append(rows)
        return real(job, rows)

    monkeypatch.setattr(basins_mod, "_run_chunk", dying)
    with pytest.raises(KeyboardInterrupt):
        basins(V, **kw, store=tmp_path / "m.zarr")
    with pytest.raises(st.ScenarioError, match="unfinished"):
        open_basins(tmp_path / "m.zarr")
    monkeypatch.setattr(basins_mod, "_run_chunk", real)
    again = basins(V, **kw, store=tmp_path / "m.zarr")
    assert again.stats["chunks_resumed"] == 3 and again.stats["chunks"] == 6
    _same_map(ref, again)


def test_store_survives_sigkill(tmp_path):
    """SIGKILL the driver half-way; a second run finishes the map from the chunks written."""
    store = tmp_path / "k.zarr"
    code = (
        "import steepest as st, sys\n"
        "st.landscape.basins(st.potentials.get('himmelblau'), resolution=(100, 400),"
        f" chunk_points=1000, store={str(store)!r})\n"
    )
    env = {**os.environ, "STEEPEST_HOST_DEVICES": "1"}
    proc = subprocess.Popen([sys.executable, "-c", code], env=env)
    import zarr

    deadline = time.time() + 120
    done = 0
    while time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)
        try:
            done = len(zarr.open_group(str(store), mode="r").attrs["steepest_basins"]["chunks"])
        except Exception:
            continue
        if done >= 5:
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert 5 <= done < 40, done
    resumed = basins(
        st.potentials.get("himmelblau"), resolution=(100, 400), chunk_points=1000, store=store
    )
    assert resumed.stats["chunks_resumed"] >= 5
    fresh = basins(st.potentials.get("himmelblau"), resolution=(100, 400), chunk_points=1000)
    _same_map(fresh, resumed)


def test_store_with_other_settings_is_refused_and_foreign_data_kept(tmp_path):
    V = st.potentials.get("double-well")
    basins(V, resolution=20, store=tmp_path / "a.zarr")
    with pytest.raises(st.ScenarioError, match="resolution|x differ|other settings"):
        basins(V, resolution=30, store=tmp_path / "a.zarr")
    assert basins(V, resolution=30, store=tmp_path / "a.zarr", overwrite=True).labels.shape == (
        30,
        30,
    )
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    with pytest.raises(st.ScenarioError, match="not a steepest basin map"):
        basins(V, resolution=20, store=foreign, overwrite=True)
    assert (foreign / "notes.txt").read_text() == "keep me"


def test_bad_scheduler_address_is_one_clear_error(monkeypatch):
    from steepest.parallel import dask as pdask

    monkeypatch.setattr(pdask, "CONNECT_TIMEOUT", 1.0)
    with pytest.raises(st.ScenarioError, match="could not reach a Dask scheduler"):
        basins(st.potentials.get("double-well"), resolution=10, client="tcp://127.0.0.1:9")
    with pytest.raises(st.ScenarioError, match="client"):
        basins(st.potentials.get("double-well"), resolution=10, client=42)


def test_cli_landscape_on_a_scheduler(client, tmp_path):
    import xarray as xr
    from typer.testing import CliRunner

    from steepest.cli.app import app

    runner = CliRunner()
    addr = client.scheduler.address
    args = ["landscape", "double-well", "--resolution", "40", "--out"]
    there = runner.invoke(app, [*args, str(tmp_path / "a"), "--scheduler", addr])
    here = runner.invoke(app, [*args, str(tmp_path / "b")])
    assert there.exit_code == 0 and here.exit_code == 0, there.output + here.output
    a = xr.open_dataset(tmp_path / "a" / "basins.nc", engine="h5netcdf")
    b = xr.open_dataset(tmp_path / "b" / "basins.nc", engine="h5netcdf")
    np.testing.assert_array_equal(a["label"].values, b["label"].values)
    assert (tmp_path / "a" / "critical_points.json").read_text() == (
        tmp_path / "b" / "critical_points.json"
    ).read_text()
