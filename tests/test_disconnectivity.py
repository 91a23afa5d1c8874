"""Disconnectivity on Müller–Brown: which minima join through which saddle, and the barriers."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import steepest as st  # noqa: E402
from steepest.landscape.disconnectivity import disconnectivity  # noqa: E402

# Published (shared/reference/potentials.json, Müller & Brown 1979) energies
E_MIN = [-146.699517209954, -108.166724116852, -80.767818129659]
E_SADDLE = {"upper": -40.664843508657, "lower": -72.248940112325}


@pytest.fixture(scope="module")
def mb():
    return disconnectivity(st.potentials.get("muller-brown"))


def test_muller_brown_tree(mb):
    np.testing.assert_allclose([m.energy for m in mb.minima], E_MIN, atol=1e-8)
    pairs = {frozenset((c.a, c.b)): c.saddle.energy for c in mb.connections}
    # the lower saddle joins the two shallow minima, the upper one the intermediate and global
    assert pairs[frozenset((1, 2))] == pytest.approx(E_SADDLE["lower"], abs=1e-8)
    assert pairs[frozenset((0, 2))] == pytest.approx(E_SADDLE["upper"], abs=1e-8)
    assert not mb.unmatched
    assert [round(e, 8) for e, *_ in mb.merges] == [
        round(E_SADDLE["lower"], 8),
        round(E_SADDLE["upper"], 8),
    ]


def test_minimax_barriers(mb):
    # from the global minimum, every path must climb the upper saddle
    assert mb.barrier(0, 1) == pytest.approx(E_SADDLE["upper"] - E_MIN[0], abs=1e-8)
    assert mb.barrier(0, 2) == pytest.approx(E_SADDLE["upper"] - E_MIN[0], abs=1e-8)
    # from the intermediate minimum to the global one: via the shallow minimum, the highest
    # point is again the upper saddle
    assert mb.barrier(1, 0) == pytest.approx(E_SADDLE["upper"] - E_MIN[1], abs=1e-8)
    assert mb.barrier(1, 2) == pytest.approx(E_SADDLE["lower"] - E_MIN[1], abs=1e-8)


def test_graph_and_plot(mb, tmp_path):
    G = mb.graph()
    assert G.number_of_nodes() == 3 and G.number_of_edges() == 2
    assert G.edges[0, 2]["barrier"] == pytest.approx(E_SADDLE["upper"] - E_MIN[2], abs=1e-8)
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    mb.plot(ax)
    fig.savefig(tmp_path / "tree.png")
    plt.close(fig)
