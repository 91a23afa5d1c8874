"""Triangle meshes: a checked `TriMesh` (manifold, consistently oriented) and standard surfaces.

A mesh is ``vertices`` ``(V, 3)`` and ``faces`` ``(F, 3)`` (vertex indices, counter-clockwise
seen from outside). Checks on construction, each a :class:`ScenarioError` that names the face,
edge or vertex at fault: index range, repeated indices in a face, degenerate (zero-area)
triangles, unreferenced vertices, edges shared by more than two faces (non-manifold edges),
vertices whose faces do not form one fan (non-manifold vertices), duplicate faces, and
neighbouring faces that traverse their shared edge the same way (inconsistent orientation).

Topology: χ = V − E + F, the boundary loops, and for a closed orientable surface its genus
g = 1 − χ/2.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

import numpy as np

from .._core.errors import ScenarioError


class TriMesh:
    """A checked manifold triangle mesh.

    Args:
        vertices: ``(V, 3)`` coordinates (``(V, 2)`` planar meshes get z = 0).
        faces: ``(F, 3)`` vertex indices, consistently oriented.
        check: run the manifold and orientation checks (on by default).
        key: the scenario key named in error messages.
    """

    def __init__(self, vertices: Any, faces: Any, *, check: bool = True, key: str = "mesh"):
        V = np.array(vertices, dtype=float)
        F = np.array(faces)
        if V.ndim != 2 or V.shape[1] not in (2, 3):
            raise ScenarioError(
                f"{key}.vertices: expected shape (V, 3), got {V.shape}.", key=f"{key}.vertices"
            )
        if V.shape[1] == 2:
            V = np.concatenate([V, np.zeros((len(V), 1))], axis=1)
        if F.ndim != 2 or F.shape[1] != 3 or len(F) == 0:
            raise ScenarioError(
                f"{key}.faces: expected triangles of shape (F, 3), got {F.shape}.",
                key=f"{key}.faces",
            )
        if not np.issubdtype(F.dtype, np.integer):
            if not np.all(np.mod(F, 1) == 0):
                raise ScenarioError(
                    f"{key}.faces: vertex indices must be integers.", key=f"{key}.faces"
                )
            F = F.astype(np.int64)
        self.vertices = V
        self.faces = F.astype(np.int64)
        self.key = key
        if check:
            self._check()

    # -- checks ---------------------------------------------------------------------------------
    def _err(self, what: str, msg: str) -> ScenarioError:
        return ScenarioError(f"{self.key}.{what}: {msg}", key=f"{self.key}.{what}")

    def _check(self) -> None:
        V, F = self.vertices, self.faces
        if not np.all(np.isfinite(V)):
            raise self._err("vertices", "the coordinates contain non-finite values.")
        if F.min() < 0 or F.max() >= len(V):
            f = int(np.argmax((F < 0).any(1) | (F >= len(V)).any(1)))
            raise self._err(
                "faces", f"face {f} = {F[f].tolist()} refers to a vertex outside 0…{len(V) - 1}."
            )
        rep = (F[:, 0] == F[:, 1]) | (F[:, 1] == F[:, 2]) | (F[:, 2] == F[:, 0])
        if rep.any():
            f = int(np.argmax(rep))
            raise self._err("faces", f"face {f} = {F[f].tolist()} repeats a vertex.")
        used = np.zeros(len(V), bool)
        used[F.ravel()] = True
        if not used.all():
            v = int(np.argmin(used))
            raise self._err(
                "vertices", f"vertex {v} belongs to no face; remove unreferenced vertices."
            )
        scale = float(np.ptp(V, axis=0).max())
        area = self.face_areas
        if np.min(area) <= 1e-14 * scale**2:
            f = int(np.argmin(area))
            raise self._err(
                "faces",
                f"face {f} = {F[f].tolist()} is degenerate (zero area); remove it or move its "
                "vertices apart.",
            )
        srt = np.sort(F, axis=1)
        _, first, counts = np.unique(srt, axis=0, return_index=True, return_counts=True)
        if counts.max() > 1:
            f = int(first[np.argmax(counts)])
            raise self._err("faces", f"face {f} = {F[f].tolist()} appears more than once.")
        ecount = np.bincount(self._edge_of_halfedge, minlength=len(self.edges))
        if ecount.max() > 2:
            e = int(np.argmax(ecount))
            raise self._err(
                "faces",
                f"non-manifold mesh: the edge {self.edges[e].tolist()} is shared by "
                f"{int(ecount[e])} faces (at most 2 are allowed).",
            )
        he = self._halfedges
        _, dcount = np.unique(he, axis=0, return_counts=True)
        if dcount.max() > 1:
            d = np.unique(he, axis=0)[np.argmax(dcount)]
            raise self._err(
                "faces",
                f"inconsistently oriented mesh: two faces traverse the edge {d.tolist()} in the "
                "same direction; reorder the vertices of one of them (e.g. flip it).",
            )
        bad = self._nonmanifold_vertex()
        if bad is not None:
            raise self._err(
                "faces",
                f"non-manifold mesh: the faces around vertex {bad} do not form a single fan "
                "(two surface sheets meet at a point).",
            )

    def _nonmanifold_vertex(self) -> int | None:
        """A vertex whose incident corners split into more than one edge-connected fan."""
        from scipy.sparse import coo_matrix
        from scipy.sparse.csgraph import connected_components

        F = self.faces
        nF = len(F)
        he = self._halfedges  # half-edge 3f+k runs F[f,k] -> F[f,k+1]
        e = self._edge_of_halfedge
        order = np.argsort(e, kind="stable")
        es = e[order]
        pair = np.nonzero(es[1:] == es[:-1])[0]
        h1, h2 = order[pair], order[pair + 1]
        f1, k1 = h1 // 3, h1 % 3
        f2, k2 = h2 // 3, h2 % 3
        # corner c = 3f + k sits at vertex F[f, k]; h1 = (a → b) in f1, h2 = (b → a) in f2
        a_in_f1, b_in_f1 = 3 * f1 + k1, 3 * f1 + (k1 + 1) % 3
        b_in_f2, a_in_f2 = 3 * f2 + k2, 3 * f2 + (k2 + 1) % 3
        rows = np.concatenate([a_in_f1, b_in_f1])
        cols = np.concatenate([a_in_f2, b_in_f2])
        n = 3 * nF
        G = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n))
        _, label = connected_components(G, directed=False)
        vert = F.ravel()
        fans = np.unique(np.stack([vert, label], axis=1), axis=0)
        per_vertex = np.bincount(fans[:, 0], minlength=len(self.vertices))
        if per_vertex.max() > 1:
            return int(np.argmax(per_vertex))
        del he
        return None

    # -- topology -------------------------------------------------------------------------------
    @cached_property
    def _halfedges(self) -> np.ndarray:
        F = self.faces
        return np.stack([F, np.roll(F, -1, axis=1)], axis=2).reshape(-1, 2)

    @cached_property
    def _edge_data(self) -> tuple[np.ndarray, np.ndarray]:
        key = np.sort(self._halfedges, axis=1)
        edges, inv = np.unique(key, axis=0, return_inverse=True)
        return edges, inv.ravel()

    @property
    def edges(self) -> np.ndarray:
        """Undirected edges ``(E, 2)`` (sorted pairs)."""
        return self._edge_data[0]

    @property
    def _edge_of_halfedge(self) -> np.ndarray:
        return self._edge_data[1]

    @cached_property
    def face_edges(self) -> np.ndarray:
        """``(F, 3)``: the edge opposite corner k of face f is ``face_edges[f, k]``."""
        # half-edge k of a face runs from corner k to k+1, so it is opposite corner k+2
        e = self._edge_of_halfedge.reshape(-1, 3)
        return e[:, [1, 2, 0]]

    @cached_property
    def edge_face_count(self) -> np.ndarray:
        return np.bincount(self._edge_of_halfedge, minlength=len(self.edges))

    @property
    def n_vertices(self) -> int:
        return len(self.vertices)

    @property
    def euler_characteristic(self) -> int:
        """χ = V − E + F."""
        return len(self.vertices) - len(self.edges) + len(self.faces)

    @property
    def is_closed(self) -> bool:
        return bool(np.all(self.edge_face_count == 2))

    @cached_property
    def boundary_vertices(self) -> np.ndarray:
        """Boolean mask of the vertices on the boundary."""
        mask = np.zeros(len(self.vertices), bool)
        mask[self.edges[self.edge_face_count == 1].ravel()] = True
        return mask

    @cached_property
    def boundary_loops(self) -> list[np.ndarray]:
        """The boundary loops, each an array of vertex indices in the faces' orientation."""
        he = self._halfedges
        bnd = self.edge_face_count[self._edge_of_halfedge] == 1
        nxt = dict(zip(he[bnd, 0].tolist(), he[bnd, 1].tolist(), strict=True))
        loops, seen = [], set()
        for start in nxt:
            if start in seen:
                continue
            loop, v = [], start
            while v not in seen:
                seen.add(v)
                loop.append(v)
                v = nxt[v]
            loops.append(np.array(loop))
        return loops

    @property
    def genus(self) -> int | None:
        """g = 1 − χ/2 for a closed connected surface (None when it has a boundary)."""
        return (2 - self.euler_characteristic) // 2 if self.is_closed else None

    # -- geometry -------------------------------------------------------------------------------
    @property
    def face_areas(self) -> np.ndarray:
        return face_areas(self.vertices, self.faces)

    @property
    def area(self) -> float:
        return float(self.face_areas.sum())

    @property
    def volume(self) -> float:
        """Enclosed volume ⅙ Σ det(x_a, x_b, x_c) (for a closed, outward-oriented mesh)."""
        a, b, c = (self.vertices[self.faces[:, k]] for k in range(3))
        return float(np.einsum("ij,ij->i", a, np.cross(b, c)).sum() / 6)

    def edge_lengths(self) -> np.ndarray:
        """``(F, 3)`` lengths of the edge opposite each corner."""
        return face_edge_lengths(self.vertices, self.faces)

    def with_vertices(self, vertices: Any) -> TriMesh:
        """The same connectivity with new coordinates (unchecked: the topology is unchanged)."""
        m = TriMesh(vertices, self.faces, check=False, key=self.key)
        for name in ("_halfedges", "_edge_data", "face_edges", "edge_face_count"):
            if name in self.__dict__:
                m.__dict__[name] = self.__dict__[name]
        return m

    def __repr__(self) -> str:
        kind = "closed" if self.is_closed else f"{len(self.boundary_loops)} boundary loop(s)"
        return (
            f"TriMesh({len(self.vertices)} vertices, {len(self.faces)} faces, χ = "
            f"{self.euler_characteristic}, {kind})"
        )


def face_areas(V: np.ndarray, F: np.ndarray) -> np.ndarray:
    a, b, c = V[F[:, 0]], V[F[:, 1]], V[F[:, 2]]
    return 0.5 * np.linalg.norm(np.cross(b - a, c - a), axis=1)


def face_edge_lengths(V: np.ndarray, F: np.ndarray) -> np.ndarray:
    """``(F, 3)``: column k is the length of the edge opposite corner k."""
    P = V[F]
    return np.linalg.norm(np.roll(P, -1, axis=1) - np.roll(P, 1, axis=1), axis=2)


# -- standard surfaces ------------------------------------------------------------------------


def icosphere(subdivisions: int = 3, radius: float = 1.0) -> TriMesh:
    """The icosahedron refined ``subdivisions`` times by edge midpoints, on the sphere.

    10·4ᵏ + 2 vertices: 42, 162, 642, 2562, 10242, 40962, 163842 for k = 1 … 7.
    """
    if isinstance(subdivisions, bool) or not isinstance(subdivisions, int) or subdivisions < 0:
        raise ScenarioError(
            f"subdivisions: expected an integer ≥ 0, got {subdivisions!r}.", key="subdivisions"
        )
    p = (1 + 5**0.5) / 2
    V = np.array(
        [[-1, p, 0], [1, p, 0], [-1, -p, 0], [1, -p, 0], [0, -1, p], [0, 1, p], [0, -1, -p]]
        + [[0, 1, -p], [p, 0, -1], [p, 0, 1], [-p, 0, -1], [-p, 0, 1]],
        dtype=float,
    )
    F = np.array(
        [[0, 11, 5], [0, 5, 1], [0, 1, 7], [0, 7, 10], [0, 10, 11], [1, 5, 9], [5, 11, 4]]
        + [[11, 10, 2], [10, 7, 6], [7, 1, 8], [3, 9, 4], [3, 4, 2], [3, 2, 6], [3, 6, 8]]
        + [[3, 8, 9], [4, 9, 5], [2, 4, 11], [6, 2, 10], [8, 6, 7], [9, 8, 1]]
    )
    V /= np.linalg.norm(V, axis=1, keepdims=True)
    for _ in range(subdivisions):
        V, F = _midpoint_subdivide(V, F)
        V /= np.linalg.norm(V, axis=1, keepdims=True)
    return TriMesh(radius * V, F, check=subdivisions <= 5)


def _midpoint_subdivide(V: np.ndarray, F: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Split each triangle into four at its edge midpoints (shared midpoints deduplicated)."""
    he = np.stack([F, np.roll(F, -1, axis=1)], axis=2).reshape(-1, 2)
    key = np.sort(he, axis=1)
    edges, inv = np.unique(key, axis=0, return_inverse=True)
    mid = len(V) + inv.reshape(-1, 3)  # midpoint of edge (k, k+1) of each face
    Vn = np.concatenate([V, 0.5 * (V[edges[:, 0]] + V[edges[:, 1]])])
    a, b, c = F[:, 0], F[:, 1], F[:, 2]
    ab, bc, ca = mid[:, 0], mid[:, 1], mid[:, 2]
    Fn = np.concatenate(
        [np.stack(t, axis=1) for t in ((a, ab, ca), (b, bc, ab), (c, ca, bc), (ab, bc, ca))]
    )
    return Vn, Fn


def fibonacci_sphere(n: int, radius: float = 1.0) -> TriMesh:
    """n points on the sphere on the Fibonacci spiral, triangulated by their convex hull.

    The hull of points on a sphere is their spherical Delaunay triangulation, so the triangles
    are well shaped and the vertex count is exactly n (e.g. 100,000 for the benchmark).
    """
    from scipy.spatial import ConvexHull

    i = np.arange(n) + 0.5
    z = 1 - 2 * i / n
    phi = np.pi * (1 + 5**0.5) * i
    rho = np.sqrt(1 - z**2)
    V = np.stack([rho * np.cos(phi), rho * np.sin(phi), z], axis=1)
    F = ConvexHull(V).simplices
    a, b, c = V[F[:, 0]], V[F[:, 1]], V[F[:, 2]]
    flip = np.einsum("ij,ij->i", np.cross(b - a, c - a), a + b + c) < 0
    F[flip] = F[flip][:, [0, 2, 1]]
    return TriMesh(radius * V, F, check=n <= 20_000)


def disk(rings: int = 12, radius: float = 1.0) -> TriMesh:
    """A Delaunay triangulation of the disk: rings of 6k points at radius k/rings (k = 1 … rings).

    The Delaunay property makes every cotangent weight non-negative (α + β ≤ π across each edge),
    which the harmonic-map scheme needs for its energy decrease.
    """
    from scipy.spatial import Delaunay

    if isinstance(rings, bool) or not isinstance(rings, int) or rings < 1:
        raise ScenarioError(f"rings: expected an integer ≥ 1, got {rings!r}.", key="rings")
    pts = [np.zeros((1, 2))]
    for k in range(1, rings + 1):
        th = 2 * np.pi * (np.arange(6 * k) + 0.5 * (k % 2)) / (6 * k)
        pts.append(k / rings * np.stack([np.cos(th), np.sin(th)], axis=1))
    P = np.concatenate(pts)
    F = Delaunay(P).simplices
    a, b, c = P[F[:, 0]], P[F[:, 1]], P[F[:, 2]]
    cross = (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0])
    F[cross < 0] = F[cross < 0][:, [0, 2, 1]]
    return TriMesh(radius * P, F)


def square_grid(n: int = 32, size: float = 1.0) -> TriMesh:
    """The square [0, size]² cut into n×n cells, each split into two right triangles.

    Its cotangent Laplacian is the five-point stencil (the diagonals carry weight 0), and the
    mesh is weakly acute.
    """
    x = np.linspace(0, size, n + 1)
    X, Y = np.meshgrid(x, x, indexing="xy")
    P = np.stack([X.ravel(), Y.ravel()], axis=1)
    idx = np.arange((n + 1) ** 2).reshape(n + 1, n + 1)
    a, b = idx[:-1, :-1].ravel(), idx[:-1, 1:].ravel()
    c, d = idx[1:, :-1].ravel(), idx[1:, 1:].ravel()
    F = np.concatenate([np.stack([a, b, d], 1), np.stack([a, d, c], 1)])
    return TriMesh(P, F)


def torus(n_major: int = 32, n_minor: int = 16, R: float = 1.0, r: float = 0.4) -> TriMesh:
    """The torus of revolution with radii R > r, as an n_major × n_minor grid of quads, split."""
    if not R > r > 0:
        raise ScenarioError(f"torus: need R > r > 0, got R = {R}, r = {r}.", key="torus")
    u = 2 * np.pi * np.arange(n_major) / n_major
    v = 2 * np.pi * np.arange(n_minor) / n_minor
    U, W = np.meshgrid(u, v, indexing="ij")
    V = np.stack(
        [(R + r * np.cos(W)) * np.cos(U), (R + r * np.cos(W)) * np.sin(U), r * np.sin(W)],
        axis=-1,
    ).reshape(-1, 3)
    i, j = np.meshgrid(np.arange(n_major), np.arange(n_minor), indexing="ij")
    a = (i * n_minor + j).ravel()
    b = (((i + 1) % n_major) * n_minor + j).ravel()
    c = (i * n_minor + (j + 1) % n_minor).ravel()
    d = (((i + 1) % n_major) * n_minor + (j + 1) % n_minor).ravel()
    F = np.concatenate([np.stack([a, b, d], 1), np.stack([a, d, c], 1)])
    return TriMesh(V, F)


def radial_surface(mesh: TriMesh, radius: Any) -> TriMesh:
    """A star-shaped surface: each vertex x of a unit-sphere mesh moved to radius(x̂) · x̂.

    ``radius`` maps unit vectors ``(V, 3)`` to positive radii ``(V,)``.
    """
    n = mesh.vertices / np.linalg.norm(mesh.vertices, axis=1, keepdims=True)
    r = np.asarray(radius(n), dtype=float)
    if r.shape != (len(n),) or not np.all(np.isfinite(r)) or np.any(r <= 0):
        raise ScenarioError(
            "surface.radius: the radius must be finite and positive in every direction.",
            key="surface.radius",
        )
    return TriMesh(r[:, None] * n, mesh.faces)


def ellipsoid(subdivisions: int = 3, axes: tuple[float, float, float] = (1.5, 1.0, 0.75)):
    """The ellipsoid with semi-axes ``axes``, from an icosphere scaled along x, y, z."""
    s = icosphere(subdivisions)
    return TriMesh(s.vertices * np.asarray(axes, dtype=float), s.faces)


def bumpy_sphere(subdivisions: int = 3, amplitude: float = 0.25, k: int = 3) -> TriMesh:
    """ρ = 1 + amplitude · cos(k·φ) sin²θ ... a star-shaped sphere with k bumps round its waist."""

    def rho(n):
        phi = np.arctan2(n[:, 1], n[:, 0])
        return 1 + amplitude * np.cos(k * phi) * (1 - n[:, 2] ** 2) + 0.5 * amplitude * n[:, 2] ** 3

    return radial_surface(icosphere(subdivisions), rho)


def dumbbell(subdivisions: int = 4, neck: float = 0.25, length: float = 1.5) -> TriMesh:
    """Two round lobes joined by a thin neck: a surface of revolution about the z-axis.

    The unit sphere's point at height z is sent to height ``length``·z and distance
    ρ(z) = √(1 − z²) · (neck + (1 − neck) · (2z)² / (1 + (2z)²)) · … from the axis, so the waist
    (z = 0) has radius ``neck`` and the lobes radius ≈ 1. Mean curvature flow pinches it.
    """
    s = icosphere(subdivisions)
    x, y, z = s.vertices.T
    w = (4 * z**2) / (1 + 4 * z**2)
    shrink = neck + (1 - neck) * w * 1.25
    V = np.stack([x * shrink, y * shrink, length * z], axis=1)
    return TriMesh(V, s.faces)


def submesh(mesh: TriMesh, face_mask: Any) -> TriMesh:
    """The faces selected by ``face_mask`` with their vertices, re-indexed."""
    F = mesh.faces[np.asarray(face_mask, bool)]
    used, inv = np.unique(F.ravel(), return_inverse=True)
    return TriMesh(mesh.vertices[used], inv.reshape(-1, 3))


def spherical_cap(subdivisions: int = 3, height: float = -0.3) -> TriMesh:
    """The part of the unit icosphere whose faces lie above z = ``height``: a curved disk."""
    s = icosphere(subdivisions)
    return submesh(s, s.vertices[s.faces][:, :, 2].min(axis=1) > height)
