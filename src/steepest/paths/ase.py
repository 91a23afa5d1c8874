"""steepest on atomistic systems: an ASE ``Atoms`` with a calculator as a :class:`Potential`.

:func:`ase_potential` turns an :class:`ase.Atoms` object and an ASE calculator (EMT, a DFT code,
a machine-learned potential, ...) into a :class:`~steepest.Potential` whose state ``x`` is the
flat vector of the Cartesian positions of the free atoms, in Å, and whose energy is the
calculator's potential energy, in eV. Every path and landscape tool of steepest then works on
the real system; e.g. the climbing-image nudged elastic band (CI-NEB) of Henkelman, Uberuaga &
Jónsson (2000)::

    from ase.build import add_adsorbate, fcc100
    from ase.calculators.emt import EMT
    from ase.constraints import FixAtoms

    from steepest.paths.ase import ase_potential, positions_to_x, x_to_atoms
    from steepest.paths.neb import neb

    slab = fcc100("Al", size=(2, 2, 3))
    add_adsorbate(slab, "Au", 1.7, "hollow")
    slab.center(axis=2, vacuum=4.0)
    slab.set_constraint(FixAtoms(mask=[atom.tag > 1 for atom in slab]))
    slab.calc = EMT()
    V = ase_potential(slab)
    a = positions_to_x(slab)          # the free coordinates, shape (V.dim,)
    ...
    path = neb(V, a, b, n_images=7)
    x_to_atoms(V, path.saddle.x)     # the transition state as an Atoms object
    V.calls                          # calculator calls spent

How the energy is made differentiable. A calculator is ordinary host code, not JAX: the energy
is a :func:`jax.pure_callback` wrapped in a :func:`jax.custom_jvp` whose tangent is
``∇V(x)·t`` with ``∇V = −forces`` of the free atoms, fetched by a second callback. So
``jax.grad``, ``jax.jvp``, ``jax.jit`` and ``jax.vmap`` (one image after another:
``vmap_method="sequential"``) work, and so do ``V.grad``, ``V.value_and_grad`` and the batched
band evaluations of the path methods. Both callbacks share a cache of recent states (keyed by
the exact bytes of ``x``), so that the energy and the gradient at one state cost ONE
calculator call, also when a vmapped batch asks for all energies before all gradients.

Second derivatives. A calculator gives no Hessian. Here the gradient's own tangent is a
central difference of forces, ``∇²V(x)·t ≈ |t| (∇V(x + h t̂) − ∇V(x − h t̂)) / 2h`` with
``t̂ = t/|t|`` and ``h = fd_step`` (1e-3 Å by default): two calculator calls per Hessian-vector
product. So forward-over-reverse and forward-over-forward second derivatives work:
``V.hvp(x, v)`` (2 calls), ``V.hessian(x)`` (2·dim calls, symmetrised) and
``jax.jacfwd(V._grad)``. Reverse mode over the gradient (``jax.jacrev(V._grad)``,
``jax.grad(jax.grad(...))``) does not: JAX cannot transpose a callback, and says so.

Refinement. Since a Hessian costs 2·dim calculator calls, the path methods refine saddles and
minima of an AsePotential (``hessian_by_differences = True``) by a quasi-Newton search: one
such Hessian, then partitioned rational-function steps on a Hessian kept up to date by
Bofill's update, to |∇V| ≤ 1e-6 eV/Å or the forces' noise floor; the point's Hessian data
come from that Hessian again when the point moved too little to change it, else from a fresh
one (``CriticalPoint.extra`` says which, and the residual |∇V| is ``residual``).

Counting. ``V.calls`` is the number of distinct geometries at which the calculator was asked
for energy and forces (one ASE "force call" each, cache hits not counted);
``V.reset_calls()`` sets it back to zero.

References:
    G. Henkelman, B. P. Uberuaga, H. Jónsson, "A climbing image nudged elastic band method for
    finding saddle points and minimum energy paths", J. Chem. Phys. 113, 9901 (2000).
    A. H. Larsen et al., "The atomic simulation environment — a Python library for working
    with atoms", J. Phys.: Condens. Matter 29, 273002 (2017).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .._core.errors import ScenarioError
from ..energy.potential import Potential

try:
    import ase
    from ase.constraints import FixAtoms, FixCartesian
except ImportError as err:  # pragma: no cover - exercised only without ASE
    raise ImportError(
        "steepest.paths.ase needs the Atomic Simulation Environment: pip install 'steepest[ase]'."
    ) from err

__all__ = ["AsePotential", "ase_potential", "free_mask", "positions_to_x", "x_to_atoms"]

#: default finite-difference step (Å) of the force differences behind Hessian-vector products
FD_STEP = 1e-3
#: default number of recent states whose (energy, gradient) are kept
CACHE_SIZE = 256


def _check_atoms(atoms: Any, key: str = "atoms") -> ase.Atoms:
    if not isinstance(atoms, ase.Atoms):
        raise ScenarioError(
            f"{key}: expected an ase.Atoms object, got {type(atoms).__name__}; build one with "
            "ase.Atoms(...) or ase.io.read(...).",
            key=key,
        )
    return atoms


def free_mask(atoms: ase.Atoms) -> np.ndarray:
    """Which Cartesian coordinates of ``atoms`` are free: a bool array of shape ``(n_atoms, 3)``.

    ``FixAtoms`` fixes all three coordinates of its atoms, ``FixCartesian`` the masked ones;
    any other constraint raises :class:`ScenarioError` (it cannot be expressed by leaving
    coordinates out of the state).
    """
    atoms = _check_atoms(atoms)
    free = np.ones((len(atoms), 3), dtype=bool)
    for c in atoms.constraints:
        if isinstance(c, FixAtoms):
            free[np.asarray(c.index, dtype=int)] = False
        elif isinstance(c, FixCartesian):
            free[np.asarray(c.index, dtype=int)] &= ~np.asarray(c.mask, dtype=bool)[None, :]
        else:
            raise ScenarioError(
                f"atoms.constraints: {type(c).__name__} is not supported, only FixAtoms and "
                "FixCartesian, which remove coordinates from the state; remove it with "
                "atoms.set_constraint() or replace it by one of those.",
                key="atoms.constraints",
            )
    return free


def positions_to_x(atoms: ase.Atoms, free: np.ndarray | None = None) -> np.ndarray:
    """The state vector of ``atoms``: the positions (Å) of its free coordinates, flattened.

    Args:
        atoms: the configuration.
        free: which coordinates are free, shape ``(n_atoms, 3)``; by default those left free
            by the constraints of ``atoms`` (:func:`free_mask`). Pass ``V.free`` to read a
            configuration without constraints into the state space of an :class:`AsePotential`.

    Returns:
        A float array of shape ``(n_free,)``, atom by atom, x, y, z within each atom.
    """
    atoms = _check_atoms(atoms)
    mask = free_mask(atoms) if free is None else np.asarray(free, dtype=bool)
    if mask.shape != (len(atoms), 3):
        raise ScenarioError(
            f"free: expected a mask of shape ({len(atoms)}, 3), one row per atom, got "
            f"{mask.shape}.",
            key="free",
        )
    return np.asarray(atoms.get_positions(), dtype=float)[mask].copy()


def x_to_atoms(template: AsePotential | ase.Atoms, x: Any) -> ase.Atoms:
    """A copy of the template with the free coordinates set from the state ``x``.

    Args:
        template: an :class:`AsePotential` (its template configuration and free mask are
            used) or an ``ase.Atoms`` (its constraints decide what is free).
        x: a state of shape ``(n_free,)``.

    Returns:
        A new ``ase.Atoms`` with the template's constraints and no calculator attached; the
        fixed coordinates keep their template values.
    """
    if isinstance(template, AsePotential):
        base, mask = template.template, template.free
    else:
        base = _check_atoms(template, key="template")
        mask = free_mask(base)
    x = np.asarray(x, dtype=float)
    n = int(mask.sum())
    if x.shape != (n,):
        raise ScenarioError(
            f"x: expected a state of shape ({n},), the free coordinates of the template, got "
            f"{x.shape}.",
            key="x",
        )
    out = base.copy()
    out.calc = None
    pos = out.get_positions()
    pos[mask] = x
    out.set_positions(pos, apply_constraint=False)
    return out


class _Evaluator:
    """Host side: positions in, (energy, gradient of the free coordinates) out; cached, counted."""

    def __init__(self, atoms: ase.Atoms, mask: np.ndarray, cache_size: int):
        self.atoms = atoms
        self.base = atoms.get_positions().copy()
        self.mask = mask
        self.cache_size = max(1, int(cache_size))
        self.calls = 0
        self._cache: OrderedDict[bytes, tuple[float, np.ndarray]] = OrderedDict()
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k not in ("_lock", "_cache")}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._cache = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, x: Any) -> tuple[float, np.ndarray]:
        x = np.ascontiguousarray(np.asarray(x, dtype=np.float64).reshape(-1))
        key = x.tobytes()
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                return hit
            pos = self.base.copy()
            pos[self.mask] = x
            self.atoms.set_positions(pos, apply_constraint=False)
            energy = float(self.atoms.get_potential_energy())
            forces = np.asarray(self.atoms.get_forces(apply_constraint=False), dtype=np.float64)
            self.calls += 1
            out = (energy, -forces[self.mask])
            self._cache[key] = out
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
            return out

    def clear(self) -> None:
        with self._lock:
            self._cache.clear()


def _traceable_energy(ev: _Evaluator, dim: int, fd_step: float):
    """The JAX-traceable energy x ↦ V(x) over the host evaluator, with its custom derivatives."""
    dtype = jnp.result_type(float)
    e_spec = jax.ShapeDtypeStruct((), dtype)
    g_spec = jax.ShapeDtypeStruct((dim,), dtype)

    def host_energy(x):
        return np.asarray(ev(x)[0], dtype=dtype)

    def host_energy_grad(x):
        e, g = ev(x)
        return np.asarray(e, dtype=dtype), np.asarray(g, dtype=dtype)

    def host_hvp(x, t):
        t = np.asarray(t, dtype=np.float64)
        scale = float(np.linalg.norm(t))
        if scale == 0.0 or not np.isfinite(scale):
            return np.zeros(dim, dtype=dtype) if scale == 0.0 else np.full(dim, np.nan, dtype)
        x = np.asarray(x, dtype=np.float64)
        u = t / scale
        gp = ev(x + fd_step * u)[1]
        gm = ev(x - fd_step * u)[1]
        return np.asarray((gp - gm) * (scale / (2.0 * fd_step)), dtype=dtype)

    @jax.custom_jvp
    def energy_grad(x):
        return jax.pure_callback(host_energy_grad, (e_spec, g_spec), x, vmap_method="sequential")

    @energy_grad.defjvp
    def _energy_grad_jvp(primals, tangents):
        (x,), (t,) = primals, tangents
        e, g = energy_grad(x)
        hv = jax.pure_callback(host_hvp, g_spec, x, t, vmap_method="sequential")
        return (e, g), (jnp.dot(g, t), hv)

    @jax.custom_jvp
    def energy(x):
        x = jnp.asarray(x, dtype=dtype)
        return jax.pure_callback(host_energy, e_spec, x, vmap_method="sequential")

    @energy.defjvp
    def _energy_jvp(primals, tangents):
        (x,), (t,) = primals, tangents
        e, g = energy_grad(jnp.asarray(x, dtype=dtype))
        return e, jnp.dot(g, t)

    return energy


def _symmetrised(hess):
    def sym(x):
        H = hess(x)
        return 0.5 * (H + H.T)

    return sym


class AsePotential(Potential):
    """A :class:`~steepest.Potential` whose energy and forces come from an ASE calculator.

    Build it with :func:`ase_potential`. Beyond a Potential's attributes it has:

    Attributes:
        template: a copy of the configuration given (with its constraints); fixed coordinates
            are held at its positions.
        free: bool array ``(n_atoms, 3)``, the coordinates that make up the state ``x``.
        calculator: the ASE calculator used.
        fd_step: the finite-difference step (Å) of Hessian-vector products.
        calls: calculator calls (energy and forces at one geometry) made so far.
        hessian_by_differences: True: a Hessian costs 2·dim calculator calls, so the path
            methods refine saddles and minima by a quasi-Newton search on one such Hessian
            (to |∇V| ≤ 1e-6 eV/Å), not by Newton on a Hessian per step.
    """

    hessian_by_differences = True

    def __init__(
        self,
        atoms: ase.Atoms,
        calculator: Any = None,
        *,
        name: str | None = None,
        fd_step: float = FD_STEP,
        cache_size: int = CACHE_SIZE,
    ):
        atoms = _check_atoms(atoms)
        calc = atoms.calc if calculator is None else calculator
        if calc is None:
            raise ScenarioError(
                "calculator: the atoms have no calculator attached; set atoms.calc = EMT() "
                "(or any ASE calculator) or pass calculator=... to ase_potential.",
                key="calculator",
            )
        if not all(
            callable(getattr(calc, m, None)) for m in ("get_potential_energy", "get_forces")
        ):
            raise ScenarioError(
                f"calculator: {type(calc).__name__} is not an ASE calculator (it lacks "
                "get_potential_energy/get_forces); pass e.g. ase.calculators.emt.EMT().",
                key="calculator",
            )
        mask = free_mask(atoms)
        dim = int(mask.sum())
        if dim == 0:
            raise ScenarioError(
                f"atoms.constraints: all {len(atoms)} atoms are fixed, so there is nothing to "
                "move; free some atoms (e.g. FixAtoms only on the bottom layers).",
                key="atoms.constraints",
            )
        if not (isinstance(fd_step, (int, float)) and np.isfinite(fd_step) and fd_step > 0):
            raise ScenarioError(
                f"fd_step: expected a positive step in Å, e.g. 1e-3, got {fd_step!r}.",
                key="fd_step",
            )
        self.template = atoms.copy()
        self.template.calc = None
        self.free = mask
        self.calculator = calc
        self.fd_step = float(fd_step)
        work = atoms.copy()
        work.set_constraint()
        work.calc = calc
        self._evaluator = _Evaluator(work, mask, cache_size)
        formula = atoms.get_chemical_formula()
        super().__init__(
            _traceable_energy(self._evaluator, dim, self.fd_step),
            dim,
            name=name or f"{formula} ({type(calc).__name__})",
            formula=f"ASE {type(calc).__name__} energy of {formula}, eV; x = free positions, Å",
            params={
                "chemical_formula": formula,
                "calculator": type(calc).__name__,
                "n_atoms": len(atoms),
                "n_free_coordinates": dim,
                "fd_step": self.fd_step,
                # whole atoms only: the path methods then measure fmax per atom, as ASE does
                "coords_per_atom": 3 if np.all(mask.all(axis=1) | ~mask.any(axis=1)) else 0,
            },
        )
        self._hessian = _symmetrised(self._hessian)  # FD columns are not exactly symmetric

    @property
    def calls(self) -> int:
        """Calculator calls so far: distinct geometries evaluated (cache hits are free)."""
        return self._evaluator.calls

    def reset_calls(self) -> None:
        """Set :attr:`calls` to zero and empty the cache (so the next state is a real call)."""
        self._evaluator.calls = 0
        self._evaluator.clear()

    def to_atoms(self, x: Any) -> ase.Atoms:
        """The configuration at state ``x`` (same as :func:`x_to_atoms`)."""
        return x_to_atoms(self, x)

    def to_x(self, atoms: ase.Atoms) -> np.ndarray:
        """The state of a configuration of the same atoms, read through :attr:`free`."""
        atoms = _check_atoms(atoms)
        if len(atoms) != len(self.template):
            raise ScenarioError(
                f"atoms: expected {len(self.template)} atoms like the template, got {len(atoms)}.",
                key="atoms",
            )
        return positions_to_x(atoms, self.free)


def ase_potential(
    atoms: ase.Atoms,
    calculator: Any = None,
    *,
    name: str | None = None,
    fd_step: float = FD_STEP,
    cache_size: int = CACHE_SIZE,
) -> AsePotential:
    """An ASE system as a :class:`~steepest.Potential` of the free atomic positions.

    Args:
        atoms: the configuration; its ``FixAtoms`` / ``FixCartesian`` constraints decide which
            coordinates are free. It is copied: later changes to it do not affect ``V``.
        calculator: the ASE calculator; ``atoms.calc`` when None.
        name: a short name (default: the chemical formula and the calculator's class).
        fd_step: the step (Å) of the central force differences behind ``V.hvp`` and
            ``V.hessian``.
        cache_size: how many recent states keep their energy and forces.

    Returns:
        An :class:`AsePotential` ``V`` with ``V.dim`` = the number of free coordinates; read
        states with :func:`positions_to_x` / ``V.to_x`` and write them back with
        :func:`x_to_atoms` / ``V.to_atoms``; ``V.calls`` counts calculator calls.

    Raises:
        ScenarioError: ``atoms`` is not an ``ase.Atoms``, no calculator is given or attached,
            every atom is fixed, or a constraint other than FixAtoms/FixCartesian is set.

    Examples:
        >>> from ase import Atoms
        >>> from ase.calculators.emt import EMT
        >>> V = ase_potential(Atoms("Cu2", positions=[[0, 0, 0], [0, 0, 2.5]]), EMT())
        >>> V.dim
        6
        >>> x = positions_to_x(V.template)
        >>> round(float(V(x)), 4), round(float(V.grad(x)[2]), 4), V.calls
        (3.7614, -2.7379, 1)
    """
    return AsePotential(atoms, calculator, name=name, fd_step=fd_step, cache_size=cache_size)
