"""Mini-batch stochastic gradient descent: gradient descent on a random batch loss per step.

θ_{k+1} = θ_k − h∇L_{B_k}(θ_k), with B_k the k-th batch of ``batch_size`` examples of an epoch
(random reshuffling: every example once per epoch, a fresh permutation each epoch). The
batch gradient is an unbiased estimate of ∇L; to first order in h SGD follows the gradient flow
plus a noise of covariance hΣ(θ)/b (Li, Tai & E 2017), so near a minimum it does not converge
but fluctuates in a ball whose mean square radius scales as h. With ``batch_size = n`` every
batch is the whole set and SGD is full-batch gradient descent.

References:
    Robbins & Monro, Ann. Math. Stat. 22, 400 (1951). Li, Tai & E, *Stochastic modified
    equations and adaptive stochastic gradient algorithms*, ICML 2017. Bottou, Curtis & Nocedal,
    SIAM Review 60, 223 (2018), §4.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from .._core.errors import ScenarioError
from ..solution import Solution
from ._loop import iterate
from .checks import check_step
from .losses import TrainingLoss


def sgd(
    loss: TrainingLoss,
    h: float,
    steps: int,
    *,
    batch_size: int,
    seed: int = 0,
    sampling: str = "reshuffle",
    theta0: Any = None,
    every: int | None = None,
) -> Solution:
    """Mini-batch SGD with step ``h`` and batches of ``batch_size`` examples, one compiled loop;
    the saved loss and |∇L| are the full-batch values at the saved iterates, ``solution.t`` = k·h.

    ``sampling="reshuffle"`` (random reshuffling, what training loops do) visits every example
    once per epoch in a fresh random order; ``"replacement"`` draws each batch independently,
    examples uniformly with replacement (the textbook SGD of the stochastic modified equation).
    Near a minimum the mean square distance to it scales as h with replacement and as h² with
    reshuffling (the noise of an epoch nearly cancels).
    """
    if not isinstance(loss, TrainingLoss):
        raise ScenarioError(
            f"sgd: mini-batches need a TrainingLoss (a model on data), got {type(loss).__name__}.",
            key="loss",
        )
    n = loss.data.n
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)):
        batch_size = -1
    if not 1 <= batch_size <= n:
        raise ScenarioError(
            f"batch_size: expected an integer from 1 to {n} (the examples of "
            f"{loss.data.name}), got {batch_size!r}.",
            key="batch_size",
        )
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ScenarioError(f"seed: expected an integer, got {seed!r}.", key="seed")
    if sampling not in ("reshuffle", "replacement"):
        raise ScenarioError(
            f"sampling: expected 'reshuffle' or 'replacement', got {sampling!r}.", key="sampling"
        )
    b = int(batch_size)
    with_replacement = sampling == "replacement"
    per_epoch = n // b  # a last partial batch is dropped, so every batch has b examples
    bgrad = jax.grad(loss.batch_loss)

    def build():
        def init(theta0, hyper):
            return (theta0, hyper["key"])

        def step(state, k, hyper):
            theta, key = state
            if with_replacement:
                idx = jax.random.randint(jax.random.fold_in(key, k), (b,), 0, n)
            else:
                epoch, j = k // per_epoch, k % per_epoch
                perm = jax.random.permutation(jax.random.fold_in(key, epoch), n)
                idx = lax.dynamic_slice(perm, (j * b,), (b,))
            return (theta - hyper["h"] * bgrad(theta, idx), key)

        return init, step, lambda state: state[0]

    key = jax.random.key_data(jax.random.PRNGKey(int(seed)))
    return iterate(
        loss,
        ("sgd", b, sampling),
        lambda: _with_key(build()),
        theta0,
        steps,
        every,
        {"h": check_step(h), "key": key},
        dt=float(h),
        name="sgd",
        settings={
            "batch_size": b,
            "seed": int(seed),
            "sampling": sampling,
            "batches_per_epoch": per_epoch,
        },
        grad_evals_per_step=1,
    )


def _with_key(method):
    """The loop casts hyper-parameters to float; the PRNG key rides as its raw uint32 data."""
    init, step, position = method

    def init_(theta0, hyper):
        return init(theta0, {**hyper, "key": jnp.asarray(hyper["key"], jnp.uint32)})

    return init_, step, position
