"""Any optax optimiser on a steepest potential, in one compiled loop, ready to set beside the flow.

An optax ``GradientTransformation`` (``init``, ``update``) maps gradients to updates; run on a
loss it is a discrete dynamical system θ_{k+1} = θ_k + u_k. ``optax.sgd(h)`` is exactly explicit
Euler on the gradient flow (θ_{k+1} = θ_k − h∇L(θ_k)); ``optax.sgd(h, momentum=β)`` the heavy
ball; adaptive methods (Adam, RMSProp) are explicit Euler on a flow in a metric that the
optimiser's own state defines. Step k is set at flow time t = k·h for the learning rate h
(``lr``), so :func:`steepest.learning.beside_flow` compares it with the flow of L.

References:
    DeepMind et al., *The DeepMind JAX Ecosystem* (2020), http://github.com/google-deepmind.
    Kingma & Ba, *Adam*, ICLR 2015. Ma, Wu & E, *A qualitative study of the dynamic behavior
    for adaptive gradient algorithms*, MSML 2022 — Adam as an ODE.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from .._core.errors import ScenarioError
from ..energy.potential import Potential
from ..solution import Solution
from ._loop import iterate
from .checks import check_step


def _check_optimizer(optimizer: Any) -> Any:
    init = getattr(optimizer, "init", None)
    update = getattr(optimizer, "update", None)
    if not (callable(init) and callable(update)):
        raise ScenarioError(
            f"optimizer: expected an optax GradientTransformation (e.g. optax.sgd(0.1) or "
            f"optax.adam(1e-3)), got {type(optimizer).__name__}.",
            key="optimizer",
        )
    return optimizer


def run_optax(
    loss: Potential,
    optimizer: Any,
    steps: int,
    *,
    lr: float | None = None,
    theta0: Any = None,
    every: int | None = None,
    name: str | None = None,
) -> Solution:
    """Run ``optimizer`` on ``loss`` for ``steps`` steps from ``theta0``, one compiled
    ``lax.scan``; save θ, L and |∇L| every ``every`` steps.

    Args:
        lr: the learning rate, which sets the flow time of step k to t = k·lr (default 1: t
            counts steps). Give it to compare the run with the gradient flow.
        name: shown in reports (default "optax").

    A second call with the same ``optimizer`` object and shapes does not recompile; a new
    optimiser object (``optax.adam(1e-3)`` again) is a new function to XLA, and compiles.

    Examples:
        >>> import optax, steepest as st
        >>> V = st.potentials.get("quadratic", A=[[1.0, 0.0], [0.0, 10.0]])
        >>> sol = st.learning.run_optax(V, optax.sgd(0.05), 100, lr=0.05, theta0=[1.0, 1.0])
        >>> bool(sol.energy[-1] < 1e-4)
        True
    """
    opt = _check_optimizer(optimizer)
    dt = 1.0 if lr is None else check_step(lr, "lr")
    import optax

    def build():
        def init(theta0, hyper):
            return (theta0, opt.init(theta0))

        def step(state, k, hyper):
            theta, s = state
            g = loss._grad(theta)
            u, s1 = opt.update(g, s, theta)
            return (optax.apply_updates(theta, u), s1)

        return init, step, lambda state: state[0]

    try:
        jax.eval_shape(lambda t: opt.update(t, opt.init(t), t), jnp.zeros(loss.dim))
    except Exception as err:
        raise ScenarioError(
            f"optimizer: initialising and updating it on a vector of {loss.dim} parameters "
            f"failed with {type(err).__name__}: {err}.",
            key="optimizer",
        ) from err
    label = name or "optax"
    return iterate(
        loss,
        ("optax", opt),
        build,
        theta0,
        steps,
        every,
        {},
        dt=dt,
        name=label,
        settings={"lr": lr},
    )
