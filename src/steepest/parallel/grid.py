"""Parameter grids of a sweep: parsing ``key=v1,v2,…``, checking them, and cutting them in chunks.

A grid is an ordered mapping from dotted scenario keys (``integrate.step``,
``energy.params.a``, ``flow.mobility``) to lists of values; the sweep runs the Cartesian product.
The product is cut into hyper-rectangular blocks (and the batch of starts, where a scenario has
one, into slices), so that every chunk of the sweep is exactly one chunk of every Zarr array of
the result and no two writers ever touch the same stored chunk.
"""

from __future__ import annotations

import itertools
import json
import math
import tomllib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._core.errors import ScenarioError


def parse_assignment(text: str) -> tuple[str, list[Any]]:
    """``key=v1,v2,…`` (TOML values; bare words are strings) or ``key=start:stop:num``
    (``num`` values evenly spaced, both ends included) → (key, values)."""
    if "=" not in text:
        raise ScenarioError(
            f"--grid {text!r}: expected key=v1,v2,… e.g. --grid integrate.step=1e-3,2e-3.",
            key="--grid",
        )
    key, raw = (s.strip() for s in text.split("=", 1))
    if not key or not all(key.split(".")):
        raise ScenarioError(f"--grid {text!r}: {key!r} is not a dotted scenario key.", key="--grid")
    if not raw:
        raise ScenarioError(
            f"--grid {key}: the list of values is empty; give at least one value.", key=key
        )
    parts = raw.split(":")
    if len(parts) == 3 and "," not in raw and "[" not in raw:
        try:
            a, b, n = float(parts[0]), float(parts[1]), int(parts[2])
        except ValueError:
            pass
        else:
            if n < 1:
                raise ScenarioError(f"--grid {key}: {raw!r} asks for {n} values.", key=key)
            return key, [float(v) for v in np.linspace(a, b, n)]
    try:
        values = tomllib.loads(f"v = [{raw}]")["v"]
    except tomllib.TOMLDecodeError:
        values = [_scalar(v.strip()) for v in raw.split(",")]
    if any(v == "" for v in values):
        raise ScenarioError(f"--grid {key}: {raw!r} has an empty value.", key=key)
    return key, values


def _scalar(text: str) -> Any:
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def check_grid(grid: Any) -> dict[str, list[Any]]:
    """A grid as an ordered dict of non-empty lists of JSON-able values (or a clear error)."""
    if isinstance(grid, (list, tuple)):  # CLI-style assignments
        pairs = [parse_assignment(g) if isinstance(g, str) else g for g in grid]
        grid = {}
        for k, v in pairs:
            if k in grid:
                raise ScenarioError(f"grid: the key {k!r} is given twice; give it once.", key=k)
            grid[k] = v
    if not isinstance(grid, Mapping) or not grid:
        raise ScenarioError(
            "grid: expected a mapping of scenario keys to lists of values, e.g. "
            "{'integrate.step': [1e-3, 2e-3]}.",
            key="grid",
        )
    out: dict[str, list[Any]] = {}
    for k, vs in grid.items():
        if not isinstance(k, str) or not k or not all(k.split(".")):
            raise ScenarioError(f"grid: {k!r} is not a dotted scenario key.", key="grid")
        if isinstance(vs, (str, bytes)) or not isinstance(vs, Sequence | np.ndarray):
            raise ScenarioError(
                f"grid.{k}: expected a list of values, got {type(vs).__name__} {vs!r}.", key=k
            )
        vs = [v.item() if isinstance(v, np.generic) else v for v in vs]
        if not vs:
            raise ScenarioError(f"grid.{k}: the list of values is empty; give at least one.", key=k)
        try:
            labels = [label(v) for v in vs]
        except (TypeError, ValueError):
            raise ScenarioError(
                f"grid.{k}: values must be numbers, strings, booleans or lists of them.", key=k
            ) from None
        if len(set(labels)) != len(labels):
            raise ScenarioError(f"grid.{k}: a value is repeated; give each value once.", key=k)
        out[k] = vs
    return out


def label(v: Any) -> Any:
    """A value as a coordinate label: itself when a scalar, else its JSON text."""
    if isinstance(v, bool | int | float | str):
        if isinstance(v, float) and not math.isfinite(v):
            raise ValueError(v)
        return v
    return json.dumps(v, allow_nan=False)


@dataclass(frozen=True)
class Layout:
    """How a sweep is cut: the grid's shape, the block shape, and the slices of the starts."""

    shape: tuple[int, ...]  #: values per grid key
    block: tuple[int, ...]  #: grid points per chunk along each key
    n_samples: int | None  #: starts per run (None: the runs have no batch of starts)
    sample_chunk: int | None  #: starts per chunk

    @property
    def n_runs(self) -> int:
        return math.prod(self.shape)

    @property
    def blocks(self) -> tuple[int, ...]:
        return tuple(-(-n // b) for n, b in zip(self.shape, self.block, strict=True))

    @property
    def n_sample_chunks(self) -> int:
        if self.n_samples is None or self.sample_chunk is None:
            return 1
        return -(-self.n_samples // self.sample_chunk)

    @property
    def n_chunks(self) -> int:
        return math.prod(self.blocks) * self.n_sample_chunks

    def chunk(self, cid: int) -> tuple[tuple[slice, ...], slice | None]:
        """The grid block (a slice per key) and the slice of starts of chunk ``cid``."""
        if not 0 <= cid < self.n_chunks:
            raise IndexError(cid)
        b, s = divmod(cid, self.n_sample_chunks)
        idx = np.unravel_index(b, self.blocks) if self.blocks else ()
        region = tuple(
            slice(int(i) * bl, min((int(i) + 1) * bl, n))
            for i, bl, n in zip(idx, self.block, self.shape, strict=True)
        )
        if self.n_samples is None or self.sample_chunk is None:
            return region, None
        return region, slice(
            s * self.sample_chunk, min((s + 1) * self.sample_chunk, self.n_samples)
        )

    def points(self, region: tuple[slice, ...]) -> Iterator[tuple[int, ...]]:
        """Every grid index inside a block."""
        return itertools.product(*(range(r.start, r.stop) for r in region))


def layout(
    shape: tuple[int, ...],
    n_samples: int | None,
    *,
    chunk_runs: int | None = None,
    chunk_samples: int | None = None,
) -> Layout:
    """Cut a grid of ``shape`` (and ``n_samples`` starts per run) into chunks.

    ``chunk_runs`` grid points per chunk (default: about 1/16 of the grid, at least one), filled
    from the last key backwards so that blocks are hyper-rectangles; ``chunk_samples`` starts per
    chunk (default: all of them up to 65,536, so an ensemble of a million starts becomes chunks
    of one compiled batch each).
    """
    n_runs = math.prod(shape)
    if chunk_runs is None:
        chunk_runs = max(1, n_runs // 16)
    if isinstance(chunk_runs, bool) or not isinstance(chunk_runs, int) or chunk_runs < 1:
        raise ScenarioError(
            f"chunk_runs: expected an integer ≥ 1, got {chunk_runs!r}.", key="chunk_runs"
        )
    block = [1] * len(shape)
    left = chunk_runs
    for i in reversed(range(len(shape))):
        block[i] = max(1, min(shape[i], left))
        left = max(1, left // block[i])
    if n_samples is not None:
        if chunk_samples is None:
            # equal chunks of at most 65,536 starts: with the last one padded to the same size
            # (see RnRunner.run) every chunk of a sweep runs the same compiled kernel
            chunk_samples = -(-n_samples // -(-n_samples // 65536))
        if (
            isinstance(chunk_samples, bool)
            or not isinstance(chunk_samples, int)
            or chunk_samples < 1
        ):
            raise ScenarioError(
                f"chunk_samples: expected an integer ≥ 1, got {chunk_samples!r}.",
                key="chunk_samples",
            )
        chunk_samples = min(chunk_samples, n_samples)
    else:
        chunk_samples = None
    return Layout(tuple(shape), tuple(block), n_samples, chunk_samples)
