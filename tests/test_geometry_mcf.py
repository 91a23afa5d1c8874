"""Mean curvature flow: the sphere law r² = r0² − 4t, area decrease for every step, cMCF."""

import numpy as np
import pytest

import steepest as st
from steepest.geometry import mean_curvature_flow, meshes
from steepest.geometry.cotan import angle_defects, laplacian, vertex_areas


def _r2(sol):
    """Squared radius of the sphere with the same area, r² = A/(4π)."""
    return sol.diagnostics["area"] / (4 * np.pi)


def test_sphere_radius_follows_r2_equals_r0_squared_minus_4t_and_converges():
    # X_t = Δ_Γ X = −Hν with H = 2/r on a sphere: r r_t = −2, r² = r0² − 4t, extinct at r0²/4.
    t1, errs, h = 0.15, [], []
    for k in (2, 3, 4):
        m = meshes.icosphere(k)
        sol = mean_curvature_flow(m, t1=t1, step=t1 / (75 * 2 ** (k - 2)), n_save=5)
        assert sol.status == "done" and all(sol.checks.values()), sol.checks
        r2 = _r2(sol)
        exact = r2[0] - 4 * sol.t
        errs.append(np.max(np.abs(r2 - exact)))
        h.append(
            np.mean(np.linalg.norm(m.vertices[m.edges[:, 0]] - m.vertices[m.edges[:, 1]], axis=1))
        )
    assert errs[-1] < 3e-3
    # refining space (h → h/2) and time (τ → τ/2) together: the error falls at least linearly
    order = np.polyfit(np.log(h), np.log(errs), 1)[0]
    assert order > 1.0, errs


def test_first_order_in_time_on_the_sphere():
    # same mesh, steps τ, τ/2, τ/4: differences of successive runs halve (implicit Euler, O(τ))
    m = meshes.icosphere(2)
    finals = [
        _r2(mean_curvature_flow(m, t1=0.2, step=0.2 / n, n_save=1))[-1] for n in (40, 80, 160, 320)
    ]
    d = np.abs(np.diff(finals))
    ratios = d[:-1] / d[1:]
    assert np.all((ratios > 1.8) & (ratios < 2.2)), ratios


@pytest.mark.parametrize("tau", [1e-4, 1e-2, 1.0, 100.0])
def test_area_decreases_in_one_step_for_every_step_size(tau):
    # (M + τL)X⁺ = MX: |Γ⁺| + τ⁻¹‖X⁺ − X‖²_M ≤ |Γ| (Dziuk 1991; BGN 2008, Lemma 2.1), any τ
    m = meshes.bumpy_sphere(2, amplitude=0.3)
    sol = mean_curvature_flow(m, t1=tau, step=tau, n_save=1, stop_area=1e-6)
    A = sol.diagnostics["area"]
    assert A[-1] < A[0]
    X0, X1 = m.vertices, sol.frames[-1]
    Mv = vertex_areas(m)
    dissipation = np.sum(Mv[:, None] * (X1 - X0) ** 2) / tau
    assert A[-1] + dissipation <= A[0] * (1 + 1e-12)


def test_area_non_increasing_at_every_step_of_a_long_run():
    m = meshes.ellipsoid(3, axes=(1.6, 1.0, 0.6))
    sol = mean_curvature_flow(m, t1=0.1, step=0.0025, n_save=40)  # every step saved
    assert len(sol.t) == 41
    assert np.all(np.diff(sol.energy) < 0)
    assert sol.energy_name == "area"
    np.testing.assert_array_equal(sol.energy, sol.diagnostics["area"])
    # discrete Gauss–Bonnet Σ(2π − Σθ) = 2πχ = 4π holds at every saved step
    assert np.max(np.abs(sol.diagnostics["gauss_bonnet_error"])) < 1e-10


def test_dumbbell_pinches_at_its_neck_before_the_lobes_shrink_away():
    m = meshes.dumbbell(3, neck=0.25)
    sol = mean_curvature_flow(m, step=0.002, n_save=10)
    assert sol.status == "singular"
    last = sol.frames[-1]
    rho = np.hypot(last[:, 0], last[:, 1])
    neck = rho[np.abs(last[:, 2]) < 0.1].min()
    lobe = rho.max()
    assert neck < 0.2 * lobe  # the waist is closing while the lobes keep their size
    # the lobes alone (radius ≈ 1) would survive to ≈ r²/4 = 0.25; the pinch comes first
    assert sol.t[-1] < 0.15


def test_conformalised_mcf_rounds_a_bumpy_sphere_and_lowers_its_dirichlet_energy():
    m = meshes.bumpy_sphere(3, amplitude=0.25)
    sol = mean_curvature_flow(m, t1=0.6, step=0.02, conformal=True, n_save=30)
    assert sol.flow == "conformal-mean-curvature"
    # E_D(Xᵏ)/S² of the unnormalised flow falls at every step (implicit step, fixed L⁰)
    assert sol.checks["dirichlet_energy_non_increasing_each_step"]
    assert np.all(np.diff(sol.energy) < 0)
    # area re-normalised to A(0) after every step
    np.testing.assert_allclose(sol.diagnostics["area"], m.area, rtol=1e-12)
    # it becomes round: the spread of |x − c| falls by an order of magnitude, below 1 %
    sph = sol.diagnostics["sphericity"]
    assert sph[0] > 0.1 and sph[-1] < 0.01
    # E_D/A − 1 ≥ 0 (equality for conformal maps): 0 for the identity at t = 0, it rises as the
    # surface moves and falls back as the map onto the round sphere becomes conformal
    dist = sol.diagnostics["conformal_distortion"]
    assert abs(dist[0]) < 1e-12 and np.all(dist >= -1e-12)
    assert dist[-1] < 0.25 * dist.max()


def test_cotan_laplacian_is_exact_on_linear_functions_and_gauss_bonnet_on_a_torus():
    m = meshes.torus(24, 12)
    L = laplacian(m)
    np.testing.assert_allclose(L @ np.ones(m.n_vertices), 0, atol=1e-12)
    assert abs(angle_defects(m).sum()) < 1e-10  # χ(torus) = 0
    assert m.euler_characteristic == 0 and m.genus == 1
    # flat square: the cotan Laplacian of a linear function vanishes at interior vertices
    sq = meshes.square_grid(6)
    f = 2 * sq.vertices[:, 0] - 3 * sq.vertices[:, 1]
    interior = ~sq.boundary_vertices
    np.testing.assert_allclose((laplacian(sq) @ f)[interior], 0, atol=1e-12)


def test_open_mesh_is_refused():
    with pytest.raises(st.ScenarioError, match="closed surfaces"):
        mean_curvature_flow(meshes.disk(3))


@pytest.mark.parametrize(
    "faces, words",
    [
        # three triangles on the edge (0, 1): a fin
        ([[0, 1, 2], [1, 0, 3], [0, 1, 4]], "shared by 3 faces"),
        # two triangles that both run 0 → 1
        ([[0, 1, 2], [0, 1, 3]], "inconsistently oriented"),
        ([[0, 1, 1]], "repeats a vertex"),
        ([[0, 1, 9]], "outside"),
    ],
)
def test_bad_meshes_are_refused_with_one_sentence(faces, words):
    V = [[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1]]
    n = max(i for f in faces for i in f if i < len(V)) + 1  # no unreferenced vertices
    with pytest.raises(st.ScenarioError, match=words) as err:
        meshes.TriMesh(V[:n], faces)
    assert err.value.key.startswith("mesh.")


def test_bow_tie_vertex_and_degenerate_face_are_refused():
    # two triangles sharing only vertex 0: not a manifold at that vertex
    V = [[0, 0, 0], [1, 0, 0], [0, 1, 0], [-1, 0, 0], [0, -1, 0]]
    with pytest.raises(st.ScenarioError, match="single fan"):
        meshes.TriMesh(V, [[0, 1, 2], [0, 3, 4]])
    with pytest.raises(st.ScenarioError, match="degenerate"):
        meshes.TriMesh([[0, 0, 0], [1, 0, 0], [2, 0, 0]], [[0, 1, 2]])
