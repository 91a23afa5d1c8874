"""Compiled functions cached per loss: a second call with the same shapes never retraces."""

from __future__ import annotations

import weakref
from collections.abc import Callable

import jax

from ..energy.potential import Potential

_COMPILED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
#: how many functions this module compiled (tests read it to check for recompilation)
TRACE_COUNT = {"n": 0}


def compiled(energy: Potential, key: tuple, build: Callable[[], Callable]) -> Callable:
    """One jitted function per (energy, key), built on first use and kept while the energy
    lives; ``build()`` returns the function to jit. Traces are counted in ``TRACE_COUNT``."""
    per = _COMPILED.setdefault(energy, {})
    if key not in per:
        fn = build()

        def counted(*args):
            TRACE_COUNT["n"] += 1  # runs only while tracing
            return fn(*args)

        per[key] = jax.jit(counted)
    return per[key]
