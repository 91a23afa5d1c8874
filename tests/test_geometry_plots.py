"""Figures and animations of every geometric flow are drawn without error and are not empty."""

import numpy as np
import pytest

from steepest.geometry import (
    corotational_flow,
    curve_shortening,
    curves,
    discrete_ricci_flow,
    harmonic_map_flow,
    mean_curvature_flow,
    meshes,
    ricci_flow_s3,
    ricci_flow_surface,
    sphere_maps,
)
from steepest.plot.geometry import animate, geometry_figure


def _harmonic_mesh():
    m = meshes.disk(6)
    u0 = sphere_maps.equivariant(m.vertices[:, 0], m.vertices[:, 1], lambda r: 1.2 * r)
    return harmonic_map_flow(u0, m, t1=0.1, n_save=2)


CASES = {
    "curve": lambda: curve_shortening(curves.circle(24), t1=0.1, n_save=3),
    "mcf": lambda: mean_curvature_flow(meshes.icosphere(1), t1=0.02, n_save=2),
    "harmonic-mesh": _harmonic_mesh,
    "corotational": lambda: corotational_flow(1.0, n=20, t1=0.1, n_save=3),
    "ricci": lambda: ricci_flow_surface(meshes.icosphere(1), t1=0.05, n_save=2),
    "flatten": lambda: discrete_ricci_flow(meshes.spherical_cap(1, -0.3)),
    "s1xs2": lambda: ricci_flow_s3(lambda s: 0.5 + 0 * s, n=8, periodic=True, t1=0.01, n_save=2),
}


@pytest.mark.parametrize("name", list(CASES))
def test_figure_and_animation(name, tmp_path):
    import matplotlib.pyplot as plt

    sol = CASES[name]()
    fig = geometry_figure(sol)
    fig.savefig(tmp_path / "f.png", dpi=50)
    plt.close(fig)
    assert (tmp_path / "f.png").stat().st_size > 3_000
    if name in ("curve", "mcf"):
        path = animate(sol, tmp_path / "a.gif", fps=4)
        assert path.stat().st_size > 1_000
    assert np.all(np.isfinite(sol.energy))
