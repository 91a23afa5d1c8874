"""`solve`: integrate a gradient flow from one start or a batch, in one compiled loop."""

from __future__ import annotations

import math
import time
import weakref
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from .._core import status as S
from .._core.errors import ConvergenceError, FlowDiverged, ScenarioError
from ..energy.potential import Potential
from ..flow import GradientFlow
from ..solution import Solution
from . import adaptive, fixed
from .diagnose import explain, max_steps_message
from .methods import get_method
from .progress import Reporter
from .steppers import InnerSolve

#: compiled kernels, per potential (weakly) then per (metric, method, options, shapes)
_KERNELS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
COMPILE_COUNT = {"n": 0}  # how many kernels this process compiled (tests read it)

ENERGY_RTOL = 256 * float(np.finfo(np.float64).eps)


def _positive(name: str, v: Any, *, allow_none: bool = False, allow_zero: bool = False) -> Any:
    if v is None and allow_none:
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        raise ScenarioError(f"{name}: expected a number, got {v!r}.", key=name) from None
    if isinstance(v, bool) or not math.isfinite(f) or f < 0 or (f == 0 and not allow_zero):
        raise ScenarioError(
            f"{name}: expected a finite {'non-negative' if allow_zero else 'positive'} number, "
            f"got {v!r}.",
            key=name,
        )
    return f


def _as_starts(x0: Any, dim: int) -> tuple[np.ndarray, bool]:
    try:
        x = np.asarray(x0, dtype=float)
    except (TypeError, ValueError):
        raise ScenarioError(f"x0: expected numbers, got {x0!r}.", key="x0") from None
    if x.ndim == 1 and x.shape[0] == dim:
        batched = False
        x = x[None, :]
    elif x.ndim == 2 and x.shape[1] == dim and x.shape[0] >= 1:
        batched = True
    else:
        raise ScenarioError(
            f"x0: expected shape ({dim},) or (batch, {dim}) for this {dim}-dimensional energy, "
            f"got {x.shape}.",
            key="x0",
        )
    bad = ~np.all(np.isfinite(x), axis=1)
    if bad.any():
        i = int(np.argmax(bad))
        raise ScenarioError(
            f"x0: start {i} has a non-finite coordinate: {x[i].tolist()}.", key="x0"
        )
    return x, batched


def _fixed_grid(t1: float, h: float, n_save: int | None):
    r = t1 / h
    n_total = int(round(r)) if abs(r - round(r)) <= 1e-9 * max(r, 1.0) else math.ceil(r)
    n_total = max(n_total, 1)
    if n_total > 2**31 - 2:
        raise ScenarioError(
            f"integrate.step: t1/h = {r:.3g} steps is too many; raise the step.",
            key="integrate.step",
        )
    stride = math.ceil(n_total / (n_save - 1)) if n_save else math.ceil(n_total / 1000)
    stride = max(stride, 1)
    targets = np.minimum(np.arange(stride, n_total + stride, stride), n_total)
    targets = np.unique(targets)
    times = np.where(targets >= n_total, t1, targets * h)
    return n_total, targets.astype(np.int32), np.concatenate([[0.0], times])


def _chunks(a: np.ndarray, n_segments: int) -> list[np.ndarray]:
    m = math.ceil(len(a) / n_segments)
    n_segments = math.ceil(len(a) / m)
    padded = np.concatenate([a, np.repeat(a[-1:], n_segments * m - len(a))])
    return [padded[i * m : (i + 1) * m] for i in range(n_segments)]


def _blocked(vfn: Callable, batch: int, block: int) -> Callable:
    """Run a batch-level ``vfn(state, targets, params)`` in cache-sized blocks (``lax.map``).

    Every leaf of ``state`` and of the output has the batch as its leading axis.
    """
    if batch <= block:
        return vfn
    nb = batch // block  # the caller pads the batch to a multiple of block

    def run(carry, targets, params):
        blocks = jax.tree.map(lambda a: a.reshape((nb, block) + a.shape[1:]), carry)
        out = lax.map(lambda c: vfn(c, targets, params), blocks)
        return jax.tree.map(lambda a: a.reshape((nb * block,) + a.shape[2:]), out)

    return run


#: batches at least this large per CPU device are sharded over the XLA host devices
MIN_PER_DEVICE = 4096


def _shards(batch: int) -> int:
    """How many XLA host devices to shard a batch over (1: run it on the default device)."""
    if jax.default_backend() != "cpu":
        return 1
    n = jax.local_device_count()
    while n > 1 and batch < n * MIN_PER_DEVICE:
        n -= 1
    return n


def _sharded(fn: Callable, shards: int) -> Callable:
    """``fn(state, targets, params)`` with the batch axis of state and output split over devices."""
    if shards == 1:
        return fn
    from jax.sharding import PartitionSpec as P

    mesh = jax.make_mesh((shards,), ("batch",), devices=jax.local_devices()[:shards])
    return jax.shard_map(
        fn,
        mesh=mesh,
        in_specs=(P("batch"), P(), P()),
        out_specs=(P("batch"), P("batch")),
        check_vma=False,
    )


def _place(tree: Any, shards: int) -> Any:
    """Put a batch-leading pytree on the devices, split along the batch axis."""
    if shards == 1:
        return tree
    from jax.sharding import NamedSharding
    from jax.sharding import PartitionSpec as P

    mesh = jax.make_mesh((shards,), ("batch",), devices=jax.local_devices()[:shards])
    return jax.device_put(tree, NamedSharding(mesh, P("batch")))


def _run_cached(flow: GradientFlow, key: tuple, build: Callable, args: tuple) -> tuple[Any, float]:
    """Run ``build()(*args)`` compiled; compile once per (flow, key, shapes). Returns (out, s)."""
    kern, ct = _kernel(flow, key, build, args)
    return kern(*args), ct


def _kernel(flow: GradientFlow, key: tuple, build: Callable, args: tuple) -> tuple[Any, float]:
    per_pot = _KERNELS.setdefault(flow.energy, {})
    shapes = tuple((a.shape, str(a.dtype)) for a in jax.tree.leaves(args))
    full = (flow.metric,) + key + (shapes,)
    if full in per_pot:
        return per_pot[full], 0.0
    t0 = time.perf_counter()
    compiled = jax.jit(build()).lower(*args).compile()
    COMPILE_COUNT["n"] += 1
    per_pot[full] = compiled
    return compiled, time.perf_counter() - t0


def solve(
    flow: GradientFlow | Potential,
    x0: Any,
    t1: float,
    method: str = "rk45",
    *,
    h: float | None = None,
    grad_tol: float | None = None,
    rtol: float = 1e-8,
    atol: float = 1e-10,
    max_steps: int = 100_000,
    n_save: int | None = None,
    save_state: bool = True,
    check_energy: bool = True,
    errors: str = "raise",
    progress: bool | Callable[[float], None] = False,
    block_size: int | None = None,
    newton_tol: float = 1e-11,
    newton_max_iter: int = 40,
) -> Solution:
    """Integrate the gradient flow dx/dt = −G(x)⁻¹∇V(x) from ``x0`` to ``t1`` (or until
    |∇V| ≤ ``grad_tol``).

    Args:
        flow: a :class:`GradientFlow` (or a :class:`Potential`, meaning the Euclidean flow).
        x0: a start of shape ``(dim,)`` or a batch ``(batch, dim)``; a batch runs as one
            vmapped compiled loop.
        t1: the end time.
        method: ``euler`` (gradient descent with step ``h``), ``rk4``, ``implicit-euler``
            (proximal point), ``discrete-gradient`` (energy decreases for any ``h``), or the
            adaptive ``rk45``, ``tsit5`` and stiff ``kvaerno5`` (diffrax).
        h: the step of the fixed-step methods. The last step is shortened to land on ``t1``.
        grad_tol: stop a trajectory when |∇V| ≤ grad_tol (its saved values are then held).
        rtol, atol: tolerances of the adaptive methods.
        max_steps: step budget of the adaptive methods per segment.
        n_save: how many times to save, including t = 0 and t1 (default: every step up to
            1000 steps for fixed-step methods, 201 points for adaptive ones).
        save_state: save x at every saved time (False keeps only energies and |∇V|).
        check_energy: stop a trajectory whose energy rises beyond round-off (the dissipation
            guard) and report it.
        errors: ``"raise"`` raises :class:`FlowDiverged` for the first failed trajectory (the
            partial solution rides on the exception); ``"record"`` returns the solution with
            the failures in ``status``.
        progress: True for a progress bar on runs longer than a second, or a callable that
            receives the fraction done after each segment.
        block_size: each device's share of a batch runs as ``lax.map`` over blocks of this many
            trajectories. Default: 2048 (cache-sized) when the batch is sharded one device per
            core, else 131072 (only to bound memory: one device already uses every core).

    Returns:
        A :class:`Solution`.

    Raises:
        ScenarioError: bad arguments (the message names the argument and the fix).
        FlowDiverged: non-finite values or an energy increase (explicit schemes add the local
            stability limit 2/λ_max).
        ConvergenceError: an adaptive solver used up ``max_steps``.

    Examples:
        >>> import steepest as st
        >>> flow = st.GradientFlow(st.potentials.get("double-well"))
        >>> sol = st.solve(flow, [0.5, 1.0], t1=10.0, method="rk45")
        >>> [round(float(v), 6) for v in sol.x_final]
        [1.0, 0.0]
    """
    if isinstance(flow, Potential):
        flow = GradientFlow(flow)
    if not isinstance(flow, GradientFlow):
        raise ScenarioError(
            f"solve: expected a GradientFlow or a Potential, got {type(flow).__name__}.",
            key="flow",
        )
    m = get_method(method, key="method")
    t1 = _positive("t1", t1)
    if errors not in ("raise", "record"):
        raise ScenarioError(f"errors: expected 'raise' or 'record', got {errors!r}.", key="errors")
    grad_tol_v = _positive("grad_tol", grad_tol, allow_none=True, allow_zero=True)
    if n_save is not None and (
        isinstance(n_save, bool) or not isinstance(n_save, int) or n_save < 2
    ):
        raise ScenarioError(f"n_save: expected an integer ≥ 2, got {n_save!r}.", key="n_save")
    x, batched = _as_starts(x0, flow.dim)
    B = x.shape[0]
    dtype = jnp.result_type(float)

    if m.kind == "fixed":
        if h is None:
            raise ScenarioError(
                f"h: method {m.name!r} takes a fixed step; pass h (e.g. h=1e-3), or use an "
                "adaptive method such as 'rk45'.",
                key="h",
            )
        h = _positive("h", h)
        n_total, targets, times = _fixed_grid(t1, h, n_save)
    else:
        rtol = _positive("rtol", rtol)
        atol = _positive("atol", atol)
        if isinstance(max_steps, bool) or not isinstance(max_steps, int) or max_steps < 1:
            raise ScenarioError(
                f"max_steps: expected a positive integer, got {max_steps!r}.", key="max_steps"
            )
        ns = n_save or 201
        times = np.linspace(0.0, t1, ns)
        targets = times[1:]

    n_seg = 1
    if progress:
        n_seg = min(len(targets), 50)
    chunks = _chunks(targets, n_seg)

    # pad the batch to whole shards (one per CPU core) of whole blocks; padding repeats start 0
    shards = _shards(B)
    block = max(1, int(block_size)) if block_size else (2048 if shards > 1 else 131072)
    per = math.ceil(B / shards)
    per = per if per <= block else math.ceil(per / block) * block
    Bp = per * shards
    xp = np.concatenate([x, np.repeat(x[:1], Bp - B, axis=0)]) if Bp > B else x
    xj = jnp.asarray(xp, dtype=dtype)
    gt = jnp.asarray(-1.0 if grad_tol_v is None else grad_tol_v, dtype=dtype)

    t_start = time.perf_counter()
    compile_time = 0.0
    inner = InnerSolve(max_iter=int(newton_max_iter), tol=float(newton_tol))
    init: Callable[..., Any] = fixed.init_carry if m.kind == "fixed" else adaptive.init_carry
    carry0, compile_time = _run_cached(
        flow,
        (m.kind, "init", Bp),
        lambda: jax.vmap(lambda x_, g_: init(flow, x_, g_), in_axes=(0, None)),
        (xj, gt),
    )
    E0 = np.asarray(carry0.E)[:B]
    escale = float(np.max(np.abs(E0))) if np.isfinite(E0).all() else 1.0
    if m.kind == "fixed":
        p = fixed.Params(
            h=jnp.asarray(h, dtype),
            t1=jnp.asarray(t1, dtype),
            n_total=jnp.asarray(n_total, jnp.int32),
            grad_tol=gt,
            energy_tol_rel=jnp.asarray(ENERGY_RTOL, dtype),
            energy_scale=jnp.asarray(escale, dtype),
        )
        key: tuple = (
            "fixed",
            m.name,
            inner,
            bool(check_energy),
            bool(save_state),
            block,
            grad_tol_v is not None,
            shards,
        )

        def build():
            step = fixed.make_step(flow, m.name, inner, bool(check_energy), grad_tol_v is not None)
            seg = _blocked(fixed.make_segment_batched(step, bool(save_state)), per, block)
            return _sharded(seg, shards)

        def params_for(i, chunk):
            return p
    else:
        use_event = grad_tol_v is not None
        key = ("adaptive", m.name, int(max_steps), use_event, bool(save_state), block, shards)

        def build():
            seg = adaptive.make_segment(flow, m.name, int(max_steps), use_event, bool(save_state))
            return _sharded(_blocked(jax.vmap(seg, in_axes=(0, None, None)), per, block), shards)

        starts = [0.0] + [float(c[-1]) for c in chunks[:-1]]

        def params_for(i, chunk):
            return adaptive.Params(
                jnp.asarray(starts[i], dtype),
                jnp.asarray(rtol, dtype),
                jnp.asarray(atol, dtype),
                gt,
            )

    reporter = Reporter(progress, len(chunks))
    carry: Any = carry0
    if m.kind == "fixed":
        carry = (carry0, jnp.zeros((Bp,), jnp.int32))
    carry = _place(carry, shards)
    saved: list[tuple] = []
    dt_target = jnp.int32 if m.kind == "fixed" else dtype
    try:
        for i, chunk in enumerate(chunks):
            args = (carry, jnp.asarray(chunk, dt_target), params_for(i, chunk))
            (carry, out), ct = _run_cached(flow, key, build, args)
            compile_time += ct
            saved.append(jax.device_get(out))
            reporter.update(i + 1)
    finally:
        reporter.close()
    carry = jax.device_get(carry)
    if m.kind == "fixed":
        carry = carry[0]
    wall = time.perf_counter() - t_start

    # assemble (drop chunk padding and batch padding)
    n_targets = len(targets)
    xs = np.concatenate([s[0] for s in saved], axis=1)[:B, :n_targets] if save_state else None
    Es = np.concatenate([s[1] for s in saved], axis=1)[:B, :n_targets]
    Gs = np.concatenate([s[2] for s in saved], axis=1)[:B, :n_targets]
    x_init = np.asarray(x)
    E_init = np.asarray(carry0.E)[:B]
    G_init = np.linalg.norm(np.asarray(carry0.g)[:B], axis=-1)
    if save_state:
        xs = np.concatenate([x_init[:, None, :], xs], axis=1)
    Es = np.concatenate([E_init[:, None], Es], axis=1)
    Gs = np.concatenate([G_init[:, None], Gs], axis=1)
    status: np.ndarray = np.asarray(carry.status)[:B].copy()
    status[status == S.RUNNING] = S.DONE
    steps = np.asarray(carry.n if m.kind == "fixed" else carry.steps)[:B]
    t_final = np.asarray(carry.t_stop)[:B]
    x_final = np.asarray(carry.x)[:B]
    E_final = np.asarray(carry.E)[:B]

    # the dissipation guard on saved points (the fixed-step loop also checks every step)
    scale = np.nanmax(np.abs(E_init)) if np.isfinite(E_init).any() else 1.0
    rise = np.diff(Es, axis=1) > ENERGY_RTOL * (np.abs(Es[:, :-1]) + scale)
    monotone = not bool(rise.any())
    if check_energy and m.kind == "adaptive":
        # adaptive steps are not guarded one by one: the last good save stands for the state
        for k in np.flatnonzero(rise.any(axis=1) & ~np.isin(status, S.FAILED)):
            j = int(np.argmax(rise[k]))
            status[k] = S.ENERGY_INCREASE
            E_final[k], t_final[k] = Es[k, j], times[j]
            Es[k, j + 1 :], Gs[k, j + 1 :] = Es[k, j], Gs[k, j]
            if xs is not None:
                x_final[k] = xs[k, j]
                xs[k, j + 1 :] = xs[k, j]

    stats = {
        "method": m.name,
        "samples": int(B),
        "steps_total": int(np.sum(steps)),
        "steps_max": int(np.max(steps)),
        "grad_evals": int(np.sum(np.asarray(carry.nfev)[:B])),
        "rejected_or_halved": int(
            np.sum(np.asarray(carry.nhalve if m.kind == "fixed" else carry.rejected)[:B])
        ),
        "converged": int(np.sum(status == S.CONVERGED)),
        "failed": int(np.sum(np.isin(status, S.FAILED))),
        "energy_monotone": monotone,
        "compile_time_s": compile_time,
        "run_time_s": max(wall - compile_time, 0.0),
        "wall_time_s": wall,
        "segments": len(chunks),
    }
    settings = {
        "method": m.name,
        "t1": t1,
        "h": h,
        "grad_tol": grad_tol_v,
        "rtol": rtol if m.kind == "adaptive" else None,
        "atol": atol if m.kind == "adaptive" else None,
        "n_save": len(times),
        "flow": flow.expression(),
        **flow.describe(),
    }
    comps = flow.energy.variables
    names = np.array([S.NAMES[c] for c in sorted(S.NAMES)])[status]
    one = (lambda a: a) if batched else (lambda a: a[0])
    sol = Solution(
        t=times,
        x=one(xs) if save_state else None,
        energy=one(Es),
        grad_norm=one(Gs),
        x_final=one(x_final),
        energy_final=one(E_final),
        t_final=one(t_final),
        steps=one(steps),
        status=one(names),
        stats=stats,
        settings=settings,
        components=comps,
    )

    failed = np.flatnonzero(np.isin(status, S.FAILED))
    if errors == "raise" and failed.size:
        i = int(failed[0])
        code = int(status[i])
        if code == S.MAX_STEPS:
            raise ConvergenceError(
                max_steps_message(flow, m, x_final[i], float(t_final[i]), t1, int(max_steps)),
                result=sol,
            )
        msg, limit = explain(
            flow, m, code, x_final[i], float(t_final[i]), int(steps[i]), h, i, batched
        )
        if failed.size > 1:
            msg += f" ({failed.size} of {B} trajectories failed; see err.solution.status.)"
        raise FlowDiverged(
            msg,
            x=x_final[i],
            t=float(t_final[i]),
            step=int(steps[i]),
            sample=i,
            reason=S.NAMES[code],
            stability_limit=limit,
            solution=sol,
        )
    return sol
