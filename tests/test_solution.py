"""Solution → xarray → NetCDF / Zarr → Solution, losslessly."""

import json

import numpy as np
import pytest

import steepest as st


@pytest.fixture(scope="module")
def sols():
    V = st.potentials.get("himmelblau")
    one = st.solve(V, [0.0, 0.0], t1=0.2, method="rk4", h=1e-3, n_save=11)
    many = st.solve(V, [[0.0, 0.0], [1.0, 1.0], [-1.0, 2.0]], t1=0.2, method="rk45", n_save=11)
    return one, many


def test_to_xarray_dims_and_attrs(sols):
    one, many = sols
    ds = many.to_xarray()
    assert ds["x"].dims == ("sample", "time", "component")
    assert ds.sizes == {"sample": 3, "time": 11, "component": 2}
    assert list(ds["component"].values) == ["x", "y"]
    settings = json.loads(ds.attrs["settings"])
    assert settings["method"] == "rk45" and settings["energy"]["name"] == "himmelblau"
    assert "jax" in json.loads(ds.attrs["versions"])
    assert one.to_xarray().sizes["sample"] == 1


@pytest.mark.parametrize("suffix", [".nc", ".zarr"])
def test_round_trip(sols, tmp_path, suffix):
    for sol in sols:
        path = sol.save(tmp_path / f"run{suffix}")
        back = st.load(path)
        assert back.batched == sol.batched
        np.testing.assert_array_equal(back.x, sol.x)
        np.testing.assert_array_equal(back.energy, sol.energy)
        np.testing.assert_array_equal(back.status, sol.status)
        assert back.settings == json.loads(json.dumps(sol.settings, default=str))


def test_bad_paths(sols, tmp_path):
    with pytest.raises(st.ScenarioError, match=".nc"):
        sols[0].save(tmp_path / "run.txt")
    with pytest.raises(st.ScenarioError, match="no file"):
        st.load(tmp_path / "missing.nc")


def test_summary_is_json(sols):
    s = json.loads(json.dumps(sols[1].summary(), default=str))
    assert len(s["final_points"]) == 3 and s["status"] == ["done"] * 3
