"""steepest.paths.ase: an ASE system as a Potential, and CI-NEB against ASE's own NEB."""

from __future__ import annotations

import pytest

pytest.importorskip("ase")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from ase import Atoms  # noqa: E402
from ase.build import add_adsorbate, fcc100  # noqa: E402
from ase.calculators.calculator import Calculator, all_changes  # noqa: E402
from ase.calculators.emt import EMT  # noqa: E402
from ase.constraints import FixAtoms, FixBondLength, FixCartesian  # noqa: E402
from ase.mep import NEB  # noqa: E402
from ase.mep.neb import NEBOptimizer  # noqa: E402
from ase.optimize import FIRE, QuasiNewton  # noqa: E402

import steepest as st  # noqa: E402
from steepest._core.errors import ScenarioError  # noqa: E402
from steepest.paths.ase import (  # noqa: E402
    AsePotential,
    ase_potential,
    free_mask,
    positions_to_x,
    x_to_atoms,
)


def adatom_slab() -> Atoms:
    """ASE's NEB tutorial system: an Au adatom in a hollow site of a 2x2x3 Al(100) slab, the
    two lower layers fixed (tags 2 and 3)."""
    slab = fcc100("Al", size=(2, 2, 3))
    add_adsorbate(slab, "Au", 1.7, "hollow")
    slab.center(axis=2, vacuum=4.0)
    slab.set_constraint(FixAtoms(mask=[atom.tag > 1 for atom in slab]))
    slab.calc = EMT()
    return slab


@pytest.fixture(scope="module")
def slab() -> Atoms:
    s = adatom_slab()
    s.rattle(0.05, seed=1)  # off the symmetric site, so that no force vanishes by symmetry
    return s


@pytest.fixture(scope="module")
def relaxed_ends() -> tuple[Atoms, Atoms]:
    """The tutorial's initial and final states (the adatom one surface spacing along x),
    relaxed with ASE's QuasiNewton to fmax 1e-3 eV/Å."""
    init = adatom_slab()
    final = init.copy()
    final[-1].x += init.get_cell()[0, 0] / 2
    final.calc = EMT()
    for atoms in (init, final):
        assert QuasiNewton(atoms, logfile=None).run(fmax=1e-3, steps=500)
    return init, final


def free_forces(atoms: Atoms) -> np.ndarray:
    return atoms.get_forces(apply_constraint=False)[free_mask(atoms)]


# -- the adapter ---------------------------------------------------------------------------
def test_energy_and_gradient_match_ase(slab):
    V = ase_potential(slab)
    assert isinstance(V, st.Potential) and isinstance(V, AsePotential)
    n_free = int(sum(atom.tag <= 1 for atom in slab))  # top layer and the adatom
    assert V.dim == 3 * n_free == 15
    assert V.params["coords_per_atom"] == 3
    x = positions_to_x(slab)
    assert x.shape == (V.dim,)
    np.testing.assert_allclose(float(V(x)), slab.get_potential_energy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(np.asarray(V.grad(x)), -free_forces(slab), rtol=0, atol=1e-12)
    # ASE applies the constraint: fixed atoms feel no force; the free ones match ours
    F = slab.get_forces()
    assert np.all(F[[atom.tag > 1 for atom in slab]] == 0)
    E, g = V.value_and_grad(jnp.asarray(x))
    np.testing.assert_allclose(float(E), slab.get_potential_energy(), atol=1e-12)
    np.testing.assert_allclose(np.asarray(g), -F[[atom.tag <= 1 for atom in slab]].ravel())


def test_gradient_matches_central_difference_of_energy(slab):
    V = ase_potential(slab)
    x = positions_to_x(slab)
    g = np.asarray(V.grad(x))
    h = 1e-5
    fd = np.array([(float(V(x + h * e)) - float(V(x - h * e))) / (2 * h) for e in np.eye(V.dim)])
    np.testing.assert_allclose(g, fd, rtol=0, atol=1e-7 * max(1.0, np.abs(g).max()))


def test_forward_mode_in_low_dimension():
    # one free atom: dim 3, where Potential takes gradients in forward mode (one JVP each)
    atoms = Atoms("Cu2", positions=[[0, 0, 0], [0.3, 0.2, 2.4]], constraint=FixAtoms([0]))
    V = ase_potential(atoms, EMT())
    assert V.dim == 3
    x = positions_to_x(atoms)
    atoms.calc = EMT()
    np.testing.assert_allclose(np.asarray(V.grad(x)), -free_forces(atoms), atol=1e-12)
    V.reset_calls()
    V.value_and_grad(jnp.asarray(x + 0.01))
    assert V.calls == 1


def test_fixed_atoms_are_not_in_x_and_do_not_move(slab):
    V = ase_potential(slab)
    fixed = np.array([atom.tag > 1 for atom in slab])
    assert not V.free[fixed].any() and V.free[~fixed].all()
    x = positions_to_x(slab)
    moved = x_to_atoms(V, x + 0.1)
    np.testing.assert_array_equal(moved.positions[fixed], slab.positions[fixed])
    np.testing.assert_allclose(moved.positions[~fixed], slab.positions[~fixed] + 0.1)
    assert moved.calc is None and len(moved.constraints) == 1
    np.testing.assert_array_equal(positions_to_x(moved), x + 0.1)
    np.testing.assert_array_equal(V.to_x(moved), x + 0.1)
    np.testing.assert_array_equal(x_to_atoms(slab, x).positions, V.to_atoms(x).positions)
    # the energy V sees at x + δ is that of the moved atoms: fixed atoms held in place
    moved.calc = EMT()
    np.testing.assert_allclose(float(V(x + 0.1)), moved.get_potential_energy(), atol=1e-12)
    # V copied the template: moving the caller's atoms later changes nothing
    s2 = slab.copy()
    s2.calc = EMT()
    V2 = ase_potential(s2)
    s2.positions += 1.0
    np.testing.assert_allclose(float(V2(x)), float(V(x)), atol=1e-12)


def test_fix_cartesian_removes_only_the_masked_coordinates():
    atoms = Atoms("Cu3", positions=[[0, 0, 0], [2.5, 0, 0], [1.2, 2.1, 0.3]])
    atoms.set_constraint([FixAtoms([0]), FixCartesian([1, 2], mask=(False, False, True))])
    V = ase_potential(atoms, EMT())
    assert V.dim == 4  # x, y of atoms 1 and 2
    assert V.params["coords_per_atom"] == 0  # not whole atoms: fmax over the image
    x = positions_to_x(atoms)
    np.testing.assert_array_equal(x, [2.5, 0.0, 1.2, 2.1])
    assert x_to_atoms(V, x + 1.0).positions[2, 2] == 0.3


def test_vmap_over_a_batch_of_states(slab):
    V = ase_potential(slab)
    x = positions_to_x(slab)
    X = x + 0.02 * np.random.default_rng(0).standard_normal((4, V.dim))
    E, G = jax.vmap(V._value_and_grad)(jnp.asarray(X))
    Eb, Gb = jax.jit(jax.vmap(V._value_and_grad))(jnp.asarray(X))
    for i, xi in enumerate(X):
        atoms = x_to_atoms(V, xi)
        atoms.calc = EMT()
        np.testing.assert_allclose(float(E[i]), atoms.get_potential_energy(), atol=1e-12)
        np.testing.assert_allclose(np.asarray(G[i]), -free_forces(atoms), atol=1e-12)
    np.testing.assert_allclose(np.asarray(Eb), np.asarray(E), atol=1e-12)
    np.testing.assert_allclose(np.asarray(Gb), np.asarray(G), atol=1e-12)
    np.testing.assert_allclose(np.asarray(V(X)), np.asarray(E), atol=1e-12)
    np.testing.assert_allclose(np.asarray(V.grad(X)), np.asarray(G), atol=1e-12)


def test_energy_and_gradient_at_one_state_is_one_calculator_call(slab):
    V = ase_potential(slab)
    x = positions_to_x(slab)
    assert V.calls == 0
    V.value_and_grad(jnp.asarray(x))
    assert V.calls == 1
    float(V(x)), V.grad(x), jax.grad(V._scalar)(jnp.asarray(x))
    assert V.calls == 1  # cached
    V(x + 0.01)
    V.grad(x + 0.01)
    assert V.calls == 2
    # a vmapped batch asks for every energy, then every gradient: still one call per state
    X = x + 0.01 * np.arange(1, 6)[:, None]
    V.reset_calls()
    jax.jit(jax.vmap(V._value_and_grad))(jnp.asarray(X))
    assert V.calls == 5


def test_hessian_by_central_differences_of_forces(relaxed_ends):
    init, _ = relaxed_ends
    V = ase_potential(init)
    x = positions_to_x(init)
    V.reset_calls()
    H = np.asarray(V.hessian(x))
    assert V.calls == 2 * V.dim
    np.testing.assert_array_equal(H, H.T)
    # columns: (∇V(x + h e_i) − ∇V(x − h e_i)) / 2h, computed here from ASE's forces
    h = V.fd_step
    cols = []
    for e in np.eye(V.dim):
        fp = free_forces(_with_emt(x_to_atoms(V, x + h * e)))
        fm = free_forces(_with_emt(x_to_atoms(V, x - h * e)))
        cols.append(-(fp - fm) / (2 * h))
    ref = np.array(cols).T
    np.testing.assert_allclose(H, 0.5 * (ref + ref.T), atol=1e-10)
    assert np.linalg.eigvalsh(H).min() > 0  # a relaxed state: a minimum
    v = np.random.default_rng(2).standard_normal(V.dim)
    np.testing.assert_allclose(
        np.asarray(V.hvp(jnp.asarray(x), jnp.asarray(v))), H @ v, atol=1e-5 * np.abs(H @ v).max()
    )


def _with_emt(atoms: Atoms) -> Atoms:
    atoms.calc = EMT()
    return atoms


def test_bad_input_raises_clear_errors(slab):
    with pytest.raises(ScenarioError, match="expected an ase.Atoms") as e:
        ase_potential(np.zeros((3, 3)))
    assert e.value.key == "atoms"
    bare = Atoms("Cu2", positions=[[0, 0, 0], [0, 0, 2.5]])
    with pytest.raises(ScenarioError, match="no calculator attached") as e:
        ase_potential(bare)
    assert e.value.key == "calculator"
    with pytest.raises(ScenarioError, match="not an ASE calculator"):
        ase_potential(bare, calculator=object())
    frozen = Atoms("Cu2", positions=[[0, 0, 0], [0, 0, 2.5]], constraint=FixAtoms([0, 1]))
    with pytest.raises(ScenarioError, match="all 2 atoms are fixed") as e:
        ase_potential(frozen, EMT())
    assert e.value.key == "atoms.constraints"
    bonded = Atoms("Cu2", positions=[[0, 0, 0], [0, 0, 2.5]], constraint=FixBondLength(0, 1))
    with pytest.raises(ScenarioError, match="FixBondLengths? is not supported"):
        ase_potential(bonded, EMT())
    with pytest.raises(ScenarioError, match="fd_step"):
        ase_potential(slab, fd_step=0.0)
    V = ase_potential(slab)
    with pytest.raises(ScenarioError, match=r"expected a state of shape \(15,\)"):
        x_to_atoms(V, np.zeros(14))
    with pytest.raises(ScenarioError, match="expected 13 atoms"):
        V.to_x(bare)


# -- the acceptance test: CI-NEB on ASE's own tutorial case, against ASE's NEB ----------------
def ase_ci_neb(init: Atoms, final: Atoms, n_intermediate: int) -> tuple[float, Atoms]:
    """ASE's CI-NEB (improved tangents, climbing image) relaxed by FIRE to fmax 0.01 eV/Å:
    the barrier and the climbing image."""
    images = [init] + [init.copy() for _ in range(n_intermediate)] + [final]
    for image in images[1:-1]:
        image.calc = EMT()
    band = NEB(images, climb=True, method="improvedtangent")
    band.interpolate()
    assert FIRE(band, logfile=None).run(fmax=0.01, steps=2000)
    E = np.array([image.get_potential_energy() for image in images])
    return float(E.max() - E[0]), images[int(np.argmax(E))]


def steepest_ci_neb(init: Atoms, final: Atoms, n_images: int, **kw):
    from steepest.paths.neb import neb

    V = ase_potential(init)
    path = neb(V, positions_to_x(init), positions_to_x(final), n_images=n_images, **kw)
    return V, path


def test_ci_neb_barrier_matches_ase_on_the_adatom_hop(relaxed_ends):
    init, final = relaxed_ends
    ase_barrier, top = ase_ci_neb(init, final, 3)
    assert 0.3 < ase_barrier < 0.45  # EMT's Au hop on Al(100), ≈ 0.37 eV
    V, path = steepest_ci_neb(init, final, 5, climb=True, fmax=0.01, verify=False)
    assert path.converged and path.max_force <= 0.01
    assert path.images.shape == (5, V.dim) and path.energies.shape == (5,)
    assert abs(path.barrier_forward - ase_barrier) < 0.01
    assert path.saddle is not None and path.saddle.index == 1
    # the transition state: the adatom over the bridge site, as ASE's climbing image
    ts = x_to_atoms(V, path.saddle.x)
    np.testing.assert_allclose(ts.positions[-1], top.positions[-1], atol=0.05)
    np.testing.assert_allclose(ts.positions[-1, 0], 0.5 * (init[-1].x + final[-1].x), atol=1e-3)
    assert path.force_calls > 0 and V.calls >= path.force_calls
    # the refinements on finite-difference Hessians (2·dim = 30 calls each): one Hessian per
    # point, a few quasi-Newton steps, a fresh Hessian only for the saddle, which moved
    ex = path.saddle.extra
    assert ex["refine_stop"] == "gtol" and path.saddle.residual <= 1e-6
    assert ex["hessians"] <= 2 and ex["refine_steps"] <= 5
    assert path.hessian_calls <= 4
    assert V.calls <= path.force_calls + path.hessian_calls * 2 * V.dim


def test_refinement_of_a_minimum_under_force_noise(relaxed_ends):
    # forces with noise σ = 1e-5 eV/Å: |∇V| ≤ 1e-6 is out of reach; the refinement stops at
    # the noise floor, says so, and still classifies the minimum
    from steepest.paths._common import Counter, polish

    class NoisyEMT(EMT):
        rng = np.random.default_rng(3)

        def calculate(self, *args, **kwargs):
            super().calculate(*args, **kwargs)
            f = self.results["forces"]
            self.results["forces"] = f + 1e-5 * self.rng.standard_normal(f.shape)

    init, _ = relaxed_ends
    V = ase_potential(init, NoisyEMT())
    cp = polish(V, positions_to_x(init), Counter())
    assert cp.kind == "minimum" and cp.extra["refine_stop"] == "noise floor"
    assert 1e-6 < cp.residual < 1e-4
    np.testing.assert_allclose(cp.x, positions_to_x(init), atol=1e-3)
    assert V.calls <= 4 * 2 * V.dim


@pytest.mark.slow
def test_ci_neb_with_five_intermediate_images_and_verification(relaxed_ends):
    init, final = relaxed_ends
    ase_barrier, _ = ase_ci_neb(init, final, 5)
    for optimizer in ("fire", "lbfgs"):
        V, path = steepest_ci_neb(init, final, 7, climb=True, fmax=0.01, optimizer=optimizer)
        assert path.converged
        assert abs(path.barrier_forward - ase_barrier) < 0.01
        assert abs(path.barrier_backward - ase_barrier) < 0.01  # a symmetric hop
        # the saddle's unstable direction leads down to the two relaxed states
        assert path.connects is not None
        for cp, ref in zip(path.connects, (init, final), strict=True):
            np.testing.assert_allclose(cp.x, positions_to_x(ref), atol=0.02)


# -- force calls against ASE's best configuration on Müller–Brown --------------------------
class MullerBrownCalculator(Calculator):
    """steepest's Müller–Brown on atom 0's (x, y) as an ASE calculator, counting its calls."""

    implemented_properties = ["energy", "forces"]

    def __init__(self, V, count: list[int]):
        super().__init__()
        self.V, self.count = V, count

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        self.count[0] += 1
        x = self.atoms.positions[0, :2]
        g = np.asarray(self.V.grad(x))
        self.results = {"energy": float(self.V(x)), "forces": np.array([[-g[0], -g[1], 0.0]])}


def _ase_spline_ode12r(V, A, B, n):
    """ASE's NEBOptimizer (ODE12r) on the spline band at k = 0.1, stopped when every moving
    image's force, the climbing image's included, is ≤ 0.01: (force calls, barrier)."""

    class AllImages(NEBOptimizer):  # ASE's own residual leaves the climbing image out
        def get_residual(self, F=None, X=None):
            F = self.neb.get_forces() if F is None else F
            return float(np.linalg.norm(np.reshape(F, (-1, 3)), axis=1).max())

    count = [0]
    images = []
    for p in [A] * (n - 1) + [B]:
        a = Atoms("H", positions=[[p[0], p[1], 0.0]])
        a.set_constraint(FixCartesian([0], mask=(False, False, True)))
        a.calc = MullerBrownCalculator(V, count)
        images.append(a)
    band = NEB(images, k=0.1, climb=True, method="spline")
    band.interpolate()
    assert AllImages(band, logfile=None).run(fmax=0.01, steps=2000)
    assert np.linalg.norm(band.get_forces(), axis=1).max() <= 0.01
    E = [im.get_potential_energy() for im in images]
    return count[0], max(E) - E[0]


@pytest.mark.parametrize("n", [9, 11])
def test_default_ci_neb_needs_fewer_force_calls_than_ase_best_on_muller_brown(n):
    """benchmarks/bench_neb.py runs 56 ASE configurations (FIRE, BFGS, LBFGS, MDMin,
    NEBOptimizer; improved-tangent, string and spline bands; four springs): the fewest force
    calls, on 9 images, are NEBOptimizer's on the spline band at k = 0.1. Both counts are
    deterministic, so the comparison is made here, same ends, same criterion."""
    V = st.potentials.get("muller-brown")
    A, B = np.array([-0.558, 1.442]), np.array([0.623, 0.028])
    for _ in range(30):  # Newton onto the two minima, as the benchmark does
        A = A - np.linalg.solve(np.asarray(V.hessian(A)), np.asarray(V.grad(A)))
        B = B - np.linalg.solve(np.asarray(V.hessian(B)), np.asarray(V.grad(B)))
    ase_calls, ase_barrier = _ase_spline_ode12r(V, A, B, n)
    p = st.paths.neb(V, A, B, n_images=n, polish_endpoints=False, verify=False)
    assert p.converged and p.max_force <= 0.01
    assert abs(p.barrier_forward - ase_barrier) < 0.01
    assert p.force_calls < ase_calls
