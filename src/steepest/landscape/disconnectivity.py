"""Disconnectivity: minima joined through the index-1 saddles that connect them.

Each index-1 saddle's unstable manifold runs down to (at most) two minima; the saddle is the
transition state between them and its energy the top of the barrier. Sorting the saddles by
energy and merging the minima they join (union–find, as in Kruskal's algorithm) gives the
disconnectivity tree: at energy E, two minima are in the same superbasin when a path between
them never climbs above E. The lowest such E is the minimax barrier between them.

References:
    O. M. Becker & M. Karplus, J. Chem. Phys. 106, 1495 (1997) — disconnectivity graphs.
    D. J. Wales, M. A. Miller & T. R. Walsh, Nature 394, 758 (1998); Wales, *Energy
    Landscapes* (Cambridge, 2003).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._core.errors import ScenarioError
from ..energy.potential import Potential
from .critical_point import CriticalPoint


@dataclass
class Connection:
    """A saddle joining minima ``a`` and ``b`` (indices into ``Disconnectivity.minima``)."""

    saddle: CriticalPoint
    a: int
    b: int
    barrier_from_a: float
    barrier_from_b: float


@dataclass
class Disconnectivity:
    """Minima, the saddles joining them, and the merge tree (energy, group) events."""

    minima: list[CriticalPoint]
    connections: list[Connection]
    merges: list[tuple[float, int, int, int]]  # (energy, node a, node b, new node)
    unmatched: list[CriticalPoint] = field(default_factory=list)  # saddles not joining 2 minima

    def graph(self):
        """A networkx Graph: nodes are minima (attribute ``energy``, ``x``); edges are saddles
        (attributes ``energy``, ``barrier``: the smaller of the two barriers, ``x``)."""
        import networkx as nx

        G = nx.Graph()
        for i, m in enumerate(self.minima):
            G.add_node(i, energy=float(m.energy), x=np.asarray(m.x).tolist())
        for c in self.connections:
            prev = G.get_edge_data(c.a, c.b)
            if prev is None or prev["energy"] > c.saddle.energy:  # keep the lowest saddle
                G.add_edge(
                    c.a,
                    c.b,
                    energy=float(c.saddle.energy),
                    barrier=float(min(c.barrier_from_a, c.barrier_from_b)),
                    x=np.asarray(c.saddle.x).tolist(),
                )
        return G

    def barrier(self, i: int, j: int) -> float:
        """The minimax barrier from minimum i to minimum j: the lowest possible highest saddle
        on a path between them, minus V at i (inf when no path is known)."""
        if i == j:
            return 0.0
        for level, a, b, _ in self.merges:
            A, B = self._members(a), self._members(b)
            if (i in A and j in B) or (i in B and j in A):
                return level - float(self.minima[i].energy)
        return float("inf")

    def _members(self, node: int) -> set[int]:
        n = len(self.minima)
        if node < n:
            return {node}
        _, a, b, _ = self.merges[node - n]
        return self._members(a) | self._members(b)

    def plot(self, ax=None, title: str | None = None):
        """The disconnectivity graph: leaves at the minima's energies, joined at saddle energies."""
        from ..plot.landscape import _plt

        plt = _plt()
        ax = ax or plt.gca()
        n = len(self.minima)
        height = {i: float(m.energy) for i, m in enumerate(self.minima)}
        pos: dict[int, float] = {}
        roots = self._roots()
        order: list[int] = []

        def leaves(node: int) -> None:
            if node < n:
                order.append(node)
            else:
                _, a, b, _ = self.merges[node - n]
                leaves(a)
                leaves(b)

        for r in roots:
            leaves(r)
        for k, leaf in enumerate(order):
            pos[leaf] = float(k)
        for level, a, b, new in self.merges:
            height[new] = level
            pos[new] = 0.5 * (pos[a] + pos[b])
            for child in (a, b):
                ax.plot([pos[child], pos[child]], [height[child], level], "k-", lw=1.2)
            ax.plot([pos[a], pos[b]], [level, level], "k-", lw=1.2)
        for i in range(n):
            ax.plot(pos[i], height[i], "o", color="tab:blue", ms=5)
            ax.annotate(
                str(i),
                (pos[i], height[i]),
                textcoords="offset points",
                xytext=(0, -12),
                ha="center",
                fontsize=8,
            )
        ax.set_xticks([])
        ax.set_ylabel("energy")
        ax.set_title(title or "disconnectivity graph")
        return ax

    def _roots(self) -> list[int]:
        n = len(self.minima)
        children = {c for _, a, b, _ in self.merges for c in (a, b)}
        return [k for k in range(n + len(self.merges)) if k not in children]


def disconnectivity(
    V: Potential, points: Any = None, *, tol: float = 1e-6, **kw: Any
) -> Disconnectivity:
    """Join the minima of V through its index-1 saddles and build the merge tree.

    Args:
        V: the potential.
        points: the critical points (default: :func:`critical_points` of V with ``**kw``).
        tol: how close (relative to the box) a manifold's end point must be to a minimum.
    """
    from .critical import critical_points, require_potential
    from .manifolds import manifolds

    require_potential(V, "disconnectivity")
    cps = critical_points(V, **kw) if points is None else list(points)
    minima = [p for p in cps if p.kind == "minimum"]
    saddles = [p for p in cps if p.kind == "saddle" and p.index == 1]
    if not minima:
        raise ScenarioError(
            "disconnectivity: no minima among the critical points; check the bounds of the search.",
            key="points",
        )
    M = np.array([np.asarray(m.x) for m in minima])
    scale = float(np.max(np.ptp(np.asarray(V.plot_bounds), axis=1)))
    connections, unmatched = [], []
    for s in saddles:
        ends = manifolds(V, s).connects
        idx = []
        for e in ends:
            if e is None:
                continue
            d = np.linalg.norm(M - np.asarray(e), axis=1)
            if d.min() <= tol * scale:
                idx.append(int(d.argmin()))
        if len(idx) == 2 and idx[0] != idx[1]:
            a, b = idx
            connections.append(
                Connection(
                    s, a, b, float(s.energy - minima[a].energy), float(s.energy - minima[b].energy)
                )
            )
        else:
            unmatched.append(s)
    # Kruskal on saddle energies: each merge joins two superbasins at the saddle's energy
    parent = list(range(len(minima)))
    node_of = list(range(len(minima)))  # current tree node of each union-find root

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    merges: list[tuple[float, int, int, int]] = []
    for c in sorted(connections, key=lambda c: c.saddle.energy):
        ra, rb = find(c.a), find(c.b)
        if ra == rb:
            continue
        new = len(minima) + len(merges)
        merges.append((float(c.saddle.energy), node_of[ra], node_of[rb], new))
        parent[rb] = ra
        node_of[ra] = new
    return Disconnectivity(minima, connections, merges, unmatched)
