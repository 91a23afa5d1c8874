"""Streamed, checkpointed field runs: the same result as `evolve`, resume after a crash (in
process and after a real SIGKILL of `steepest run`), refusal of bad output directories."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

from steepest import ScenarioError
from steepest import fields as F
from steepest.fields import run as R


@pytest.fixture(scope="module")
def ch():
    """Cahn–Hilliard (PFHub 1 energy) on a small periodic square, and its initial field."""
    g = F.SpectralGrid((32, 32), (64.0, 64.0))
    flow = F.HMinus1Flow(g, F.pfhub1(), 5.0)
    x, y = g.coordinates()
    c0 = (
        0.5
        + 0.02 * np.cos(2 * np.pi * x / 64) * np.sin(4 * np.pi * y / 64)
        + 0.01 * np.cos(6 * np.pi * (x + y) / 64)
    )
    return flow, c0


KW = {"dt": 0.2, "scheme": "semi-implicit", "save_every": 2.0}


@pytest.fixture(scope="module")
def reference(ch):
    flow, c0 = ch
    return F.evolve(flow, c0, 20.0, **KW)


def test_stream_writes_what_evolve_returns(ch, reference, tmp_path):
    flow, c0 = ch
    seen = []
    sol = R.stream(
        flow, c0, 20.0, out=tmp_path / "run", checkpoint_every=7, progress=seen.append, **KW
    )
    ref = reference
    # the progress callback: simulated time, steps, steps/s and F after every segment
    assert [d["steps"] for d in seen] == sorted({*range(7, 101, 7), *range(10, 101, 10)})
    assert seen[-1]["t"] == 20.0 and all(d["steps_per_s"] > 0 for d in seen)
    np.testing.assert_allclose(seen[-1]["F"], ref.energy[-1], rtol=1e-14)
    assert sol.stats["steps"] == ref.stats["steps"] == 100
    np.testing.assert_array_equal(sol.final, ref.final)  # the same steps: identical
    np.testing.assert_array_equal(sol.energy, ref.energy)
    ds = R.open_run(tmp_path / "run")
    np.testing.assert_array_equal(np.asarray(ds["c"]), ref.fields)
    np.testing.assert_array_equal(np.asarray(ds["free_energy"]), ref.energy)
    np.testing.assert_array_equal(np.asarray(ds["steps"]), ref.steps)
    # every 7 steps, and at t = 0 and at the end
    assert sol.stats["checkpoints"] == 100 // 7 + 2
    csv = (tmp_path / "run" / "free_energy.csv").read_text().splitlines()
    assert csv[0] == "time,free_energy" and len(csv) == len(ref.t) + 1
    t, E = np.loadtxt(csv[1:], delimiter=",").T
    np.testing.assert_array_equal(E, ref.energy)
    assert R.is_finished(tmp_path / "run")
    manifest = json.loads((tmp_path / "run" / R.MANIFEST).read_text())
    assert manifest["kind"] == "field" and manifest["settings"]["checkpoint_every"] == 7


class _Crash(Exception):
    pass


def test_resume_after_a_crash_and_after_a_torn_checkpoint(ch, reference, tmp_path, monkeypatch):
    flow, c0 = ch
    real_ckpt = R._Run.checkpoint
    calls = {"n": 0}

    def crash_after_fourth(self, cr, *, finished=False):
        real_ckpt(self, cr, finished=finished)
        calls["n"] += 1
        if calls["n"] == 4:  # dies right after a checkpoint (at step 21)
            raise _Crash

    monkeypatch.setattr(R._Run, "checkpoint", crash_after_fourth)
    with pytest.raises(_Crash):
        R.stream(flow, c0, 20.0, out=tmp_path / "a", checkpoint_every=7, **KW)
    monkeypatch.setattr(R._Run, "checkpoint", real_ckpt)
    assert not R.is_finished(tmp_path / "a")
    sol = R.resume(tmp_path / "a", flow)
    np.testing.assert_array_equal(sol.final, reference.final)
    np.testing.assert_array_equal(sol.energy, reference.energy)
    np.testing.assert_array_equal(np.asarray(R.open_run(tmp_path / "a")["c"]), reference.fields)

    # a kill in the middle of writing a checkpoint: the temporary file is written, the rename
    # never happens; the previous checkpoint is intact and the run resumes from it
    real_replace = os.replace
    state = {"n": 0}

    def torn(src, dst):
        if str(dst).endswith(R.CHECKPOINT):
            state["n"] += 1
            if state["n"] == 6:
                raise _Crash
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", torn)
    with pytest.raises(_Crash):
        R.stream(flow, c0, 20.0, out=tmp_path / "b", checkpoint_every=7, **KW)
    monkeypatch.setattr(os, "replace", real_replace)
    assert list((tmp_path / "b").glob(".checkpoint.npz.*.tmp"))  # the torn write
    with np.load(tmp_path / "b" / R.CHECKPOINT) as z:
        assert int(z["carry.n"]) == 28  # the fifth checkpoint (t = 0, then every 7 steps)
    sol = R.resume(tmp_path / "b", flow)
    np.testing.assert_array_equal(sol.final, reference.final)
    assert not list((tmp_path / "b").glob(".checkpoint.npz.*.tmp"))
    # resuming a finished run computes nothing and returns the same record
    again = R.resume(tmp_path / "b", flow)
    np.testing.assert_array_equal(again.energy, reference.energy)


def test_bad_output_directories_are_refused_before_the_run(ch, tmp_path, monkeypatch):
    flow, c0 = ch
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    for out in (blocker, blocker / "run"):
        with pytest.raises(ScenarioError) as err:
            R.stream(flow, c0, 20.0, out=out, **KW)
        assert err.value.key == "output.dir" and str(out) in str(err.value)
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "data.txt").write_text("someone else's")
    with pytest.raises(ScenarioError, match="not empty and holds no steepest run"):
        R.stream(flow, c0, 20.0, out=tmp_path / "busy", **KW)
    assert (tmp_path / "busy" / "data.txt").read_text() == "someone else's"

    # a full disk: the projected store (101 fields of 32² float64 ≈ 0.8 MiB + margin) does not
    # fit in 1 MiB; refused with the sizes, before any file of the run is written
    real = shutil.disk_usage

    def tiny(path):
        u = real(path)
        return type(u)(u.total, u.total - 2**20, 2**20)

    monkeypatch.setattr(shutil, "disk_usage", tiny)
    with pytest.raises(ScenarioError) as err:
        R.stream(flow, c0, 20.0, out=tmp_path / "full", dt=0.2, save_every=0.2)
    assert err.value.key == "output.dir" and "MiB are free" in str(err.value)
    assert not list((tmp_path / "full").iterdir())
    need = R.projected_bytes((32, 32), 101, 101, 32 * 32 * 8 * 2)
    assert 101 * 32 * 32 * 8 <= need < 101 * 32 * 32 * 8 + 2**20


SCENARIO = """
title = "kill me"
[field]
discretisation = "spectral"
shape = [48, 48]
lengths = [96.0, 96.0]
[functional]
kind = "pfhub1"
[flow]
metric = "H-1"
mobility = 5.0
[scheme]
kind = "semi-implicit"
dt = 0.05
t1 = {t1}
[initial]
kind = "random"
mean = 0.5
amplitude = 0.02
seed = 7
[output]
every = 10.0
field_every = 50.0
checkpoint_every = {every}
checkpoint_seconds = 1000.0
plot = false
"""


def _log(out: Path) -> list[tuple[int, str, dict]]:
    rows = []
    for line in (out / R.LOG).read_text().splitlines():
        _, pid, what, *rest = line.split()
        rows.append((int(pid), what, dict(kv.split("=") for kv in rest)))
    return rows


def test_sigkill_then_steepest_resume_gives_the_uninterrupted_result(tmp_path):
    every, t1 = 200, 600.0  # 12,000 steps; a checkpoint every 200
    path = tmp_path / "kill.toml"
    path.write_text(SCENARIO.format(t1=t1, every=every))
    out = tmp_path / "run"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    cmd = [sys.executable, "-m", "steepest"]
    proc = subprocess.Popen(
        [*cmd, "run", str(path), "--out", str(out)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env,
    )  # fmt: skip
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if (out / R.LOG).is_file() and sum(r[1] == "checkpoint" for r in _log(out)) >= 4:
            break
        time.sleep(0.01)
    assert proc.poll() is None, proc.stderr.read().decode()  # still running: kill it mid-run
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert not R.is_finished(out)

    r = subprocess.run([*cmd, "resume", str(out)], capture_output=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr.decode()
    rows = _log(out)
    killed = [row for row in rows if row[0] == proc.pid]
    resumed = [row for row in rows if row[1] == "resume"]
    assert len(resumed) == 1
    n_killed = max(int(kv["n"]) for _, what, kv in killed if "n" in kv)
    n_from = int(resumed[0][2]["n"])
    assert n_from % every == 0 and n_from > 0
    assert 0 <= n_killed - n_from <= every  # at most one checkpoint interval recomputed
    summary = json.loads((out / "summary.json").read_text())
    assert summary["exit_code"] == 0 and all(summary["checks"].values())

    # the uninterrupted run, in this process, with the same steps
    from steepest.fields.scenario import build_flow, build_initial, load_data

    data = load_data(path)
    flow = build_flow(data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = F.evolve(flow, build_initial(data, flow.grid), t1, dt=0.05, save_every=10.0)
    ds = R.open_run(out)
    assert int(ds["steps"][-1]) == ref.stats["steps"] == 12_000
    assert np.abs(np.asarray(ds["c_final"]) - ref.final).max() <= 1e-12
    assert np.abs(np.asarray(ds["free_energy"]) - ref.energy).max() <= 1e-12 * ref.energy[0]
    stored = np.asarray(ds["c"])
    k = [list(ref.t).index(t) for t in np.asarray(ds["field_time"])]
    assert np.abs(stored - ref.fields[k]).max() <= 1e-12


def test_checkpoints_by_wall_time(ch, reference, tmp_path):
    flow, c0 = ch
    # due after every segment (a tiny interval) or never (a huge one): besides the checkpoints
    # at t = 0 and at the end, one per segment or none
    for seconds, per_segment in ((1e-9, True), (1e9, False)):
        out = tmp_path / f"s{seconds:g}"
        seen = []
        sol = R.stream(
            flow, c0, 20.0, out=out, checkpoint_seconds=seconds, progress=seen.append, **KW
        )
        np.testing.assert_array_equal(sol.final, reference.final)
        segments = len(seen)  # the progress callback runs after every segment
        checkpoints = sum(r[1] == "checkpoint" for r in _log(out))
        assert segments == len(reference.t) - 1  # one compiled segment per save interval here
        assert checkpoints == 2 + (segments if per_segment else 0)
