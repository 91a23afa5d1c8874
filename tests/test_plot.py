"""Figures build from a Potential and a Solution (Agg backend)."""

import matplotlib

matplotlib.use("Agg")

import steepest as st  # noqa: E402
from steepest.plot import landscape_figure  # noqa: E402


def test_landscape_figure_2d_and_3d(tmp_path):
    V = st.potentials.get("himmelblau")
    sol = st.solve(V, [[0.0, 0.0], [1.0, -1.0]], t1=0.1, method="rk4", h=1e-3, n_save=11)
    fig = landscape_figure(V, sol, title="t")
    assert len(fig.axes) == 3  # contour, colour bar, energy
    fig.savefig(tmp_path / "a.png")
    W = st.potentials.get("rastrigin", dim=3)
    fig = landscape_figure(W, st.solve(W, [0.1, 0.2, 0.3], t1=0.1, method="rk45"))
    assert len(fig.axes) == 1
