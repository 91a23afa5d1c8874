"""Grids for fields: a periodic spectral grid and finite-volume Cartesian grids in 1-D, 2-D, 3-D.

A field is an array of shape ``grid.shape`` (float64). Two families:

* :class:`SpectralGrid` — periodic in every axis, values at the nodes ``x_j = origin + j·dx``,
  derivatives by FFT (``∂ ↔ ik``, ``Δ ↔ −|k|²``). Spectral accuracy for smooth periodic fields.
* :class:`FiniteVolumeGrid` — cell averages at the centres ``x_j = origin + (j + ½)·dx``, fluxes
  on the faces, each axis with its own boundary: ``"periodic"``, ``"no-flux"`` (J·n = 0) or
  ``"dirichlet"`` (a value on the boundary face, half a cell from the first centre). The gradient
  maps cells to faces, the divergence faces to cells, and they are adjoint, so the sum of a
  divergence over any block of cells is exactly the flux through the block's faces.

Both grids also carry the transform that diagonalises their Laplacian (FFT; DCT-II for no-flux
axes; DST-II for Dirichlet axes), which is what the semi-implicit, exponential, convex-splitting
and SAV schemes invert in O(N log N) per step.

References:
    L. N. Trefethen, *Spectral Methods in MATLAB*, SIAM (2000), ch. 3.
    R. J. LeVeque, *Finite Volume Methods for Hyperbolic Problems*, CUP (2002), ch. 4.
    G. Strang, The discrete cosine transform, SIAM Review 41 (1999) 135 (DCT/DST eigenvectors).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .._core.errors import ScenarioError

BOUNDARIES = ("periodic", "no-flux", "dirichlet")
_ALIASES = {"neumann": "no-flux", "noflux": "no-flux", "no_flux": "no-flux", "wrap": "periodic"}


def _shape(shape: Any, key: str) -> tuple[int, ...]:
    if isinstance(shape, int | np.integer) and not isinstance(shape, bool):
        shape = (int(shape),)
    try:
        out = tuple(int(n) for n in shape)
        ok = all(
            isinstance(n, int | np.integer) and not isinstance(n, bool) and n == m
            for n, m in zip(shape, out, strict=True)
        )
    except (TypeError, ValueError):
        ok, out = False, ()
    if not ok or not 1 <= len(out) <= 3 or min(out) < 2:
        raise ScenarioError(
            f"{key}: expected 1 to 3 whole numbers of cells per axis, each ≥ 2, got {shape!r}; "
            "e.g. shape = [128, 128].",
            key=key,
        )
    return out


def _per_axis(value: Any, ndim: int, key: str, what: str) -> tuple[float, ...]:
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = [value] * ndim
    try:
        out = tuple(float(v) for v in value)
    except (TypeError, ValueError):
        out = ()
    if len(out) != ndim or not all(math.isfinite(v) for v in out):
        raise ScenarioError(
            f"{key}: expected {ndim} finite {what} (one per axis), got {value!r}.", key=key
        )
    return out


class Grid(ABC):
    """What every grid has: shape, lengths, spacing, cell volume, coordinates, integration;
    the transforms and operators each kind of grid implements are its abstract methods."""

    kind = "grid"

    def __init__(self, shape: Any, lengths: Any, origin: Any = 0.0):
        self.shape = _shape(shape, "field.shape")
        self.ndim = len(self.shape)
        self.lengths = _per_axis(lengths, self.ndim, "field.lengths", "lengths")
        if min(self.lengths) <= 0:
            raise ScenarioError(
                f"field.lengths: every length must be > 0, got {list(self.lengths)}.",
                key="field.lengths",
            )
        self.origin = _per_axis(origin, self.ndim, "field.origin", "coordinates")
        self.spacing = tuple(L / n for L, n in zip(self.lengths, self.shape, strict=True))
        self.cell_volume = float(np.prod(self.spacing))
        self.volume = float(np.prod(self.lengths))
        self.size = int(np.prod(self.shape))

    # -- geometry --------------------------------------------------------------------------
    @abstractmethod
    def axis_points(self, axis: int) -> np.ndarray: ...

    def coordinates(self) -> tuple[np.ndarray, ...]:
        """The coordinates of the grid points, one array of ``shape`` per axis (``ij`` order)."""
        return tuple(np.meshgrid(*(self.axis_points(a) for a in range(self.ndim)), indexing="ij"))

    def integrate(self, f: Any) -> Any:
        """∫ f dV as the sum over cells times the cell volume (exact for trigonometric
        polynomials on the spectral grid, the midpoint rule on the finite-volume grid)."""
        return jnp.sum(f) * self.cell_volume

    def check_field(self, c: Any, key: str = "c0") -> np.ndarray:
        """A float64 array of this grid's shape, or a ScenarioError naming ``key``."""
        try:
            a = np.asarray(c, dtype=float)
        except (TypeError, ValueError):
            raise ScenarioError(
                f"{key}: expected an array of numbers, got {c!r}.", key=key
            ) from None
        if a.shape != self.shape:
            raise ScenarioError(
                f"{key}: expected a field of the grid's shape {self.shape}, got shape {a.shape}.",
                key=key,
            )
        if not np.all(np.isfinite(a)):
            raise ScenarioError(f"{key}: the field has NaN or infinite values.", key=key)
        return a

    def describe(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "shape": list(self.shape),
            "lengths": list(self.lengths),
            "origin": list(self.origin),
            "boundary": list(self.boundary),
        }

    boundary: tuple[str, ...] = ()

    # -- what every grid provides (set or overridden by SpectralGrid and FiniteVolumeGrid) ----
    #: the shape of a transformed field (the coefficients of :meth:`forward`)
    spectral_shape: tuple[int, ...]
    #: the eigenvalues of the grid's Laplacian in its transform, of ``spectral_shape``
    laplacian_symbol: np.ndarray

    @abstractmethod
    def forward(self, c: Any) -> Any:
        """The coefficients of c in the eigenvectors of the grid's Laplacian."""
        ...

    @abstractmethod
    def inverse(self, c_hat: Any) -> Any:
        """c from its coefficients (the inverse of :meth:`forward`)."""
        ...

    @abstractmethod
    def inner_hat(self, a_hat: Any, b_hat: Any) -> Any:
        """⟨a, b⟩ = Σ a b dV from the transformed fields (Parseval)."""
        ...

    @abstractmethod
    def grad(self, c: Any) -> tuple[Any, ...]:
        """∇c, one array per axis."""
        ...

    @abstractmethod
    def div(self, J: Sequence[Any]) -> Any:
        """∇·J at the cells (nodes)."""
        ...

    @abstractmethod
    def laplacian(self, c: Any) -> Any:
        """Δc."""
        ...

    @abstractmethod
    def gradient_energy(self, c: Any, c_hat: Any = None) -> Any:
        """½∫|∇c|²."""
        ...

    @property
    @abstractmethod
    def laplacian_offset(self) -> np.ndarray | None:
        """Δ0: the constant non-zero Dirichlet data add to the Laplacian (None when none)."""
        ...

    def __repr__(self) -> str:
        dims = "×".join(map(str, self.shape))
        return f"{type(self).__name__}({dims}, lengths={list(self.lengths)}, {list(self.boundary)})"


class SpectralGrid(Grid):
    """A periodic grid with Fourier-spectral operators.

    Nodes ``x_j = origin + j·L/n``; wave numbers ``k = 2π m / L``. The first derivative drops the
    Nyquist mode of an even ``n`` (its derivative is not real); the Laplacian keeps it (−k²), so
    the gradient energy ½Σ|k|²|ĉ|² and the Laplacian are exact variational partners.

    Examples:
        >>> g = SpectralGrid((64, 64), (200.0, 200.0))
        >>> g.spacing
        (3.125, 3.125)
    """

    kind = "spectral"

    def __init__(self, shape: Any, lengths: Any, origin: Any = 0.0):
        super().__init__(shape, lengths, origin)
        self.boundary = ("periodic",) * self.ndim
        ks = []
        for a, (n, L) in enumerate(zip(self.shape, self.lengths, strict=True)):
            m = np.fft.rfftfreq(n, 1.0 / n) if a == self.ndim - 1 else np.fft.fftfreq(n, 1.0 / n)
            ks.append(2 * np.pi * m / L)
        self._k = [
            np.reshape(k, [-1 if b == a else 1 for b in range(self.ndim)]) for a, k in enumerate(ks)
        ]
        # derivative wave numbers: the Nyquist mode of an even n is dropped
        self._kd = []
        for a, k in enumerate(self._k):
            kd = k.copy()
            n = self.shape[a]
            if n % 2 == 0:
                idx = n // 2
                kd.reshape(-1)[idx] = 0.0
            self._kd.append(kd)
        self.spectral_shape = tuple(k.size for k in ks)
        k2 = sum(k**2 for k in self._k)
        self.laplacian_symbol = -np.broadcast_to(k2, self.spectral_shape).copy()
        # Parseval weights of the half spectrum: modes 0 < m < n/2 of the last axis stand for two
        n = self.shape[-1]
        w = np.full(self.spectral_shape[-1], 2.0)
        w[0] = 1.0
        if n % 2 == 0:
            w[-1] = 1.0
        self._parseval = np.broadcast_to(w, self.spectral_shape) / self.size

    def axis_points(self, axis: int) -> np.ndarray:
        return self.origin[axis] + self.spacing[axis] * np.arange(self.shape[axis])

    # -- transforms --------------------------------------------------------------------------
    def forward(self, c: Any) -> Any:
        """ĉ = rfftn(c)."""
        return jnp.fft.rfftn(c)

    def inverse(self, c_hat: Any) -> Any:
        """c = irfftn(ĉ)."""
        return jnp.fft.irfftn(c_hat, s=self.shape)

    def inner_hat(self, a_hat: Any, b_hat: Any) -> Any:
        """⟨a, b⟩ = Σ a b dV from the transforms (Parseval), without transforming back."""
        return jnp.sum(self._parseval * jnp.real(jnp.conj(a_hat) * b_hat)) * self.cell_volume

    # -- operators ---------------------------------------------------------------------------
    def grad(self, c: Any) -> tuple[Any, ...]:
        """∇c at the nodes, one array per axis."""
        ch = self.forward(c)
        return tuple(self.inverse(1j * kd * ch) for kd in self._kd)

    def div(self, J: Sequence[Any]) -> Any:
        """∇·J at the nodes (J one array per axis, at the nodes)."""
        return self.inverse(
            sum(1j * kd * self.forward(j) for kd, j in zip(self._kd, J, strict=True))
        )

    def laplacian(self, c: Any) -> Any:
        """Δc = irfftn(−|k|² ĉ)."""
        return self.inverse(self.laplacian_symbol * self.forward(c))

    def gradient_energy(self, c: Any, c_hat: Any = None) -> Any:
        """½∫|∇c|² = ½ Σ |k|²|ĉ|² (Parseval; from ĉ when given, without another FFT)."""
        ch = self.forward(c) if c_hat is None else c_hat
        return 0.5 * self.inner_hat(ch, -self.laplacian_symbol * ch)

    @property
    def laplacian_offset(self) -> None:
        return None

    def periodicity_jump(self, c: np.ndarray) -> float:
        """How far from periodic ``c`` is: the largest jump across a periodic seam, over the
        largest jump between neighbours inside (≫ 1 for a field that is not periodic)."""
        worst = 0.0
        for a in range(self.ndim):
            seam = np.abs(np.take(c, 0, axis=a) - np.take(c, -1, axis=a)).max()
            inner = np.abs(np.diff(c, axis=a)).max()
            scale = max(inner, 1e-300)
            worst = max(worst, seam / scale)
        return float(worst)


class FiniteVolumeGrid(Grid):
    """A Cartesian finite-volume grid: values at cell centres, fluxes on faces.

    Args:
        shape: cells per axis (1 to 3 axes).
        lengths: the domain length per axis.
        origin: the low corner.
        boundary: one of ``"periodic"``, ``"no-flux"``, ``"dirichlet"`` for every axis, or one
            per axis.
        dirichlet: the boundary values for Dirichlet axes: a number, or one ``(low, high)`` pair
            per axis (ignored on other axes).

    Faces: along a periodic axis there are n faces (face j is the low face of cell j); along
    other axes n + 1 (faces 0 and n are on the boundary). The gradient on a face is the
    difference of its two cells over dx; on a Dirichlet boundary face it is (c₀ − g)/(dx/2), on
    a no-flux face 0. With the face weights of :meth:`face_weights` (dV; dV/2 on Dirichlet
    faces; 0 on no-flux faces) ``⟨grad u, J⟩ = −⟨u, div J⟩`` for every J that vanishes on
    no-flux faces and u with zero Dirichlet data.

    Examples:
        >>> g = FiniteVolumeGrid((50,), (1.0,), boundary="no-flux")
        >>> g.axis_points(0)[:2]
        array([0.01, 0.03])
    """

    kind = "finite-volume"

    def __init__(
        self,
        shape: Any,
        lengths: Any,
        origin: Any = 0.0,
        *,
        boundary: str | Sequence[str] = "no-flux",
        dirichlet: Any = 0.0,
    ):
        super().__init__(shape, lengths, origin)
        self.boundary = _boundaries(boundary, self.ndim)
        self.dirichlet = _dirichlet(dirichlet, self.ndim)
        self._setup_transform()

    def axis_points(self, axis: int) -> np.ndarray:
        return self.origin[axis] + self.spacing[axis] * (np.arange(self.shape[axis]) + 0.5)

    def face_points(self, axis: int) -> np.ndarray:
        n = self.shape[axis] + (0 if self.boundary[axis] == "periodic" else 1)
        return self.origin[axis] + self.spacing[axis] * np.arange(n)

    def face_shape(self, axis: int) -> tuple[int, ...]:
        s = list(self.shape)
        if self.boundary[axis] != "periodic":
            s[axis] += 1
        return tuple(s)

    def face_weights(self, axis: int) -> np.ndarray:
        """The volume each face of ``axis`` stands for (broadcastable to its face array)."""
        n = self.face_shape(axis)[axis]
        w = np.ones(n)
        if self.boundary[axis] == "dirichlet":
            w[0] = w[-1] = 0.5
        elif self.boundary[axis] == "no-flux":
            w[0] = w[-1] = 0.0
        return np.reshape(w, [-1 if b == axis else 1 for b in range(self.ndim)]) * self.cell_volume

    # -- operators ---------------------------------------------------------------------------
    def grad_axis(self, c: Any, axis: int, values: tuple[float, float] | None = None) -> Any:
        """∂c/∂x_axis on the faces of ``axis``; ``values`` overrides the Dirichlet data."""
        dx = self.spacing[axis]
        bc = self.boundary[axis]
        if bc == "periodic":
            return (c - jnp.roll(c, 1, axis=axis)) / dx
        inner = jnp.diff(c, axis=axis) / dx
        first = jnp.take(c, jnp.array([0]), axis=axis)
        last = jnp.take(c, jnp.array([self.shape[axis] - 1]), axis=axis)
        if bc == "no-flux":
            lo = jnp.zeros_like(first)
            hi = jnp.zeros_like(last)
        else:
            g_lo, g_hi = self.dirichlet[axis] if values is None else values
            lo = (first - g_lo) / (0.5 * dx)
            hi = (g_hi - last) / (0.5 * dx)
        return jnp.concatenate([lo, inner, hi], axis=axis)

    def grad(self, c: Any) -> tuple[Any, ...]:
        """∇c on the faces: one array per axis, of shape :meth:`face_shape`."""
        return tuple(self.grad_axis(c, a) for a in range(self.ndim))

    def div_axis(self, J: Any, axis: int) -> Any:
        dx = self.spacing[axis]
        if self.boundary[axis] == "periodic":
            return (jnp.roll(J, -1, axis=axis) - J) / dx
        return jnp.diff(J, axis=axis) / dx

    def div(self, J: Sequence[Any]) -> Any:
        """∇·J at the cells, from face fluxes J (one array per axis)."""
        return sum(self.div_axis(j, a) for a, j in enumerate(J))

    def laplacian(self, c: Any) -> Any:
        """Δc = div(grad c) (affine when a Dirichlet value is not zero)."""
        return self.div(self.grad(c))

    def gradient_energy(self, c: Any, c_hat: Any = None) -> Any:
        """½∫|∇c|² = ½ Σ_faces w_f (∂c)_f² (the energy whose variation is −div∘grad)."""
        return 0.5 * sum(jnp.sum(self.face_weights(a) * g**2) for a, g in enumerate(self.grad(c)))

    def net_outflow(self, J: Sequence[Any], block: Sequence[tuple[int, int]]) -> float:
        """∮ J·n dA over the boundary of the block of cells ``[lo, hi)`` per axis (a diagnostic
        on concrete arrays, in NumPy: the discrete divergence theorem says it equals
        Σ_block (∇·J) dV)."""
        total = 0.0
        for a, j in enumerate(J):
            lo, hi = block[a]
            dA = self.cell_volume / self.spacing[a]
            sl_other = tuple(
                slice(block[b][0], block[b][1]) if b != a else slice(None) for b in range(self.ndim)
            )
            jj = np.asarray(j)[sl_other]
            hi_face = hi % self.shape[a] if self.boundary[a] == "periodic" else hi
            total += dA * float(np.take(jj, hi_face, axis=a).sum() - np.take(jj, lo, axis=a).sum())
        return total

    # -- the transform that diagonalises the Laplacian ---------------------------------------
    def _setup_transform(self) -> None:
        self._periodic_axes = tuple(a for a in range(self.ndim) if self.boundary[a] == "periodic")
        sym = []
        spec_shape = list(self.shape)
        if self._periodic_axes:
            last = self._periodic_axes[-1]
            spec_shape[last] = self.shape[last] // 2 + 1
        for a in range(self.ndim):
            n, dx = self.shape[a], self.spacing[a]
            bc = self.boundary[a]
            if bc == "periodic":
                m = (
                    np.arange(spec_shape[a])
                    if a == self._periodic_axes[-1]
                    else np.fft.fftfreq(n, 1 / n)
                )
                lam = -(((2 / dx) * np.sin(np.pi * m / n)) ** 2)
            elif bc == "no-flux":  # DCT-II modes cos(π k (j + ½)/n)
                lam = -(((2 / dx) * np.sin(np.pi * np.arange(n) / (2 * n))) ** 2)
            else:  # DST-II modes sin(π (k + 1)(j + ½)/n)
                lam = -(((2 / dx) * np.sin(np.pi * (np.arange(n) + 1) / (2 * n))) ** 2)
            sym.append(np.reshape(lam, [-1 if b == a else 1 for b in range(self.ndim)]))
        self.spectral_shape = tuple(spec_shape)
        self.laplacian_symbol = np.broadcast_to(sum(sym), self.spectral_shape).copy()
        w = np.ones(self.spectral_shape)
        if self._periodic_axes:
            last = self._periodic_axes[-1]
            n = self.shape[last]
            wl = np.full(spec_shape[last], 2.0)
            wl[0] = 1.0
            if n % 2 == 0:
                wl[-1] = 1.0
            w = w * np.reshape(wl, [-1 if b == last else 1 for b in range(self.ndim)])
            w = w / np.prod([self.shape[a] for a in self._periodic_axes])
        self._parseval = w
        # the affine part of the Laplacian from non-zero Dirichlet data
        self._offset = None
        if any(
            self.boundary[a] == "dirichlet" and any(v != 0 for v in self.dirichlet[a])
            for a in range(self.ndim)
        ):
            self._offset = np.asarray(self.laplacian(jnp.zeros(self.shape)))

    @property
    def laplacian_offset(self) -> np.ndarray | None:
        """Δ0: the constant the Dirichlet data add to the Laplacian (None when all zero)."""
        return self._offset

    def forward(self, c: Any) -> Any:
        """The coefficients of c in the eigenvectors of the Laplacian (orthonormal DCT/DST on
        bounded axes, rfftn on the periodic ones)."""
        return self._jit("forward", self._forward)(c)

    def inverse(self, c_hat: Any) -> Any:
        """c from its coefficients (the inverse of :meth:`forward`)."""
        return self._jit("inverse", self._inverse)(c_hat)

    def _jit(self, name: str, fn: Any) -> Any:
        # one compiled transform per grid: eager calls (diagnostics, tests) would otherwise
        # dispatch the DCT's dozen primitives one by one; inside a jitted loop it inlines
        cache = self.__dict__.setdefault("_jitted", {})
        if name not in cache:
            cache[name] = jax.jit(fn)
        return cache[name]

    def _forward(self, c: Any) -> Any:
        from jax.scipy.fft import dct

        for a in range(self.ndim):
            bc = self.boundary[a]
            if bc == "no-flux":
                c = dct(c, norm="ortho", axis=a)
            elif bc == "dirichlet":
                c = jnp.flip(dct(c * self._alternating(a), norm="ortho", axis=a), axis=a)
        if self._periodic_axes:
            c = jnp.fft.rfftn(c, axes=self._periodic_axes)
        return c

    def _inverse(self, c_hat: Any) -> Any:
        from jax.scipy.fft import idct

        c = c_hat
        if self._periodic_axes:
            s = [self.shape[a] for a in self._periodic_axes]
            c = jnp.fft.irfftn(c, s=s, axes=self._periodic_axes)
        for a in range(self.ndim):
            bc = self.boundary[a]
            if bc == "no-flux":
                c = idct(c, norm="ortho", axis=a)
            elif bc == "dirichlet":
                c = idct(jnp.flip(c, axis=a), norm="ortho", axis=a) * self._alternating(a)
        return c

    def _alternating(self, axis: int) -> np.ndarray:
        s = (-1.0) ** np.arange(self.shape[axis])
        return np.reshape(s, [-1 if b == axis else 1 for b in range(self.ndim)])

    def inner_hat(self, a_hat: Any, b_hat: Any) -> Any:
        """⟨a, b⟩ = Σ a b dV from the transformed fields (Parseval)."""
        return jnp.sum(self._parseval * jnp.real(jnp.conj(a_hat) * b_hat)) * self.cell_volume

    def describe(self) -> dict[str, Any]:
        d = super().describe()
        d["dirichlet"] = [list(p) for p in self.dirichlet]
        return d


def _boundaries(boundary: Any, ndim: int) -> tuple[str, ...]:
    items = [boundary] * ndim if isinstance(boundary, str) else list(boundary)
    if len(items) != ndim or not all(isinstance(b, str) for b in items):
        raise ScenarioError(
            f"field.boundary: expected one boundary name or {ndim} (one per axis), got "
            f"{boundary!r}; choose from {', '.join(BOUNDARIES)}.",
            key="field.boundary",
        )
    out = []
    for b in items:
        b2 = _ALIASES.get(b.strip().lower(), b.strip().lower())
        if b2 not in BOUNDARIES:
            raise ScenarioError(
                f"field.boundary: unknown boundary {b!r}; choose from {', '.join(BOUNDARIES)}.",
                key="field.boundary",
            )
        out.append(b2)
    return tuple(out)


def _dirichlet(values: Any, ndim: int) -> tuple[tuple[float, float], ...]:
    if isinstance(values, int | float) and not isinstance(values, bool):
        return ((float(values), float(values)),) * ndim
    try:
        a = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        a = np.empty(0)
    if a.shape == (2,) and ndim == 1:
        a = a[None]
    if a.shape != (ndim, 2) or not np.all(np.isfinite(a)):
        raise ScenarioError(
            f"field.dirichlet: expected a number or {ndim} (low, high) pairs of boundary values, "
            f"got {values!r}.",
            key="field.dirichlet",
        )
    return tuple((float(lo), float(hi)) for lo, hi in a)


def make_grid(
    shape: Any,
    lengths: Any,
    *,
    discretisation: str = "finite-volume",
    boundary: Any = "periodic",
    origin: Any = 0.0,
    dirichlet: Any = 0.0,
) -> Grid:
    """A grid from scenario values (``discretisation`` ``"spectral"`` or ``"finite-volume"``)."""
    d = str(discretisation).strip().lower().replace("_", "-")
    if d in ("spectral", "fourier", "fft", "pseudo-spectral"):
        bcs = _boundaries(boundary, len(_shape(shape, "field.shape")))
        if any(b != "periodic" for b in bcs):
            raise ScenarioError(
                f"field.boundary: a spectral grid is periodic in every axis, got {list(bcs)}; "
                'use discretisation = "finite-volume" for no-flux or Dirichlet boundaries.',
                key="field.boundary",
            )
        return SpectralGrid(shape, lengths, origin)
    if d in ("finite-volume", "fv", "finite-volumes"):
        return FiniteVolumeGrid(shape, lengths, origin, boundary=boundary, dirichlet=dirichlet)
    raise ScenarioError(
        f"field.discretisation: unknown discretisation {discretisation!r}; choose "
        '"spectral" (periodic, FFT) or "finite-volume".',
        key="field.discretisation",
    )
