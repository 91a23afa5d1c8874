"""One compiled loop for the discrete optimisers of this package, saved every ``every`` steps.

A method is ``(init, step, position)``: ``init(theta0, hyper) -> state``, ``step(state, k, hyper)
-> state`` (k = 0, 1, … is the index of the step being taken) and ``position(state) -> θ``. The
loop is one ``lax.scan`` over the saves, each a ``lax.fori_loop`` over ``every`` steps, in one
compiled call; the hyper-parameters are traced arguments, so a new step size or momentum does
not recompile. A step that produces a non-finite θ is not taken: the run stops at the last finite
state with status "non-finite" (nothing raises; the :class:`~steepest.Solution` says so) and the
saves after it hold that state, as ``st.solve`` does.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from ..energy.potential import Potential
from ..solution import Solution
from ._cache import compiled
from .checks import check_steps, save_every, start_of


def iterate(
    energy: Potential,
    key: tuple,
    build: Callable[[], tuple[Callable, Callable, Callable]],
    theta0: Any,
    steps: int,
    every: int | None,
    hyper: dict[str, Any],
    *,
    dt: float,
    name: str,
    settings: dict[str, Any] | None = None,
    grad_evals_per_step: int = 1,
    theta_key: str = "theta0",
) -> Solution:
    """Run ``steps`` steps of the method ``build()`` from ``theta0``; save every ``every`` steps.

    ``dt`` is the flow time of one step (h for gradient descent, √h for momentum methods), so
    that ``solution.t`` is the time of the continuous flow the method discretises.
    """
    steps = check_steps(steps)
    k = save_every(steps, every)
    x0 = start_of(energy, theta0, theta_key)
    n_save = steps // k

    def make():
        init, step, position = build()

        def run(theta0, hyper):
            def inner(_, c):
                s, n, alive = c
                s1 = step(s, n, hyper)
                ok = alive & jnp.all(jnp.isfinite(position(s1)))
                s = jax.tree.map(lambda a, b: jnp.where(ok, a, b), s1, s)
                return s, n + ok.astype(n.dtype), ok

            def outer(c, _):
                c = lax.fori_loop(0, k, inner, c)
                th = position(c[0])
                E, g = energy._value_and_grad(th)
                return c, (th, E, jnp.linalg.norm(g))

            c0 = (init(theta0, hyper), jnp.zeros((), jnp.int32), jnp.bool_(True))
            (_, n, alive), (ths, Es, Gs) = lax.scan(outer, c0, None, length=n_save)
            E0, g0 = energy._value_and_grad(theta0)
            return ths, Es, Gs, E0, jnp.linalg.norm(g0), n, alive

        return run

    f = compiled(energy, ("iterate", *key, k, n_save), make)
    hyper_j = {a: jnp.asarray(v, dtype=jnp.result_type(float)) for a, v in hyper.items()}
    t0 = time.perf_counter()
    ths, Es, Gs, E0, G0, n, alive = jax.device_get(f(jnp.asarray(x0), hyper_j))
    wall = time.perf_counter() - t0
    x = np.concatenate([x0[None, :], np.asarray(ths)])
    E = np.concatenate([[float(E0)], np.asarray(Es)])
    G = np.concatenate([[float(G0)], np.asarray(Gs)])
    n = int(n)
    t = dt * k * np.arange(n_save + 1, dtype=float)
    return Solution(
        t=t,
        x=x,
        energy=E,
        grad_norm=G,
        x_final=x[-1],
        energy_final=np.asarray(E[-1]),
        t_final=np.asarray(n * dt),
        steps=np.asarray(n),
        status=np.asarray("done" if bool(alive) else "non-finite"),
        stats={
            "method": name,
            "samples": 1,
            "steps_total": n,
            "grad_evals": n * grad_evals_per_step + n_save + 1,
            "energy_monotone": bool(np.all(np.diff(E) <= 0)),
            "wall_time_s": wall,
        },
        settings={
            "method": name,
            "steps": steps,
            "every": k,
            "dt": dt,
            "t1": steps * dt,
            **{a: float(v) for a, v in hyper.items() if np.ndim(v) == 0},
            **(settings or {}),
            "energy": energy.describe(),
        },
        components=energy.variables,
    )
