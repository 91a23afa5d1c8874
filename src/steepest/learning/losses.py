"""Training losses as steepest potentials: L(θ) = (1/n) Σᵢ ℓ(f(θ, xᵢ), yᵢ) + (λ/2)|θ|².

A :class:`TrainingLoss` is a :class:`~steepest.Potential` on the flat parameter vector θ ∈ Rᴾ (a
model's parameter pytree flattened with ``jax.flatten_util.ravel_pytree``), so every solver,
metric and diagnosis of steepest applies: ``st.solve(loss, loss.theta0, t1, method="euler",
h=h)`` *is* full-batch gradient descent with learning rate h.

Per-example losses ℓ(z, y) of the model output z:

* ``"mse"``: ½|z − e_y|² (e_y one-hot), the loss of Cohen et al. (2021);
* ``"cross-entropy"``: log Σ_k exp z_k − z_y (softmax over K logits);
* ``"binary-cross-entropy"``: log(1 + eᶻ) − y z (one logit, y ∈ {0, 1}).

For these the Fisher information of the model's predictive distribution equals the generalised
Gauss–Newton matrix F = (1/n) Σᵢ Jᵢᵀ Hᵢ Jᵢ, Jᵢ = ∂zᵢ/∂θ, Hᵢ = ∂²ℓ/∂z² (I for mse,
diag p − ppᵀ for the softmax); for logistic regression (a canonical link) it is the Hessian.

References:
    Cohen, Kaur, Li, Kolter & Talwalkar, *Gradient descent on neural networks typically occurs
    at the edge of stability*, ICLR 2021. Martens, *New insights and perspectives on the
    natural gradient method*, JMLR 21 (2020) 1–76 (§9: Fisher = generalised Gauss–Newton).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from .._core.errors import ScenarioError
from ..energy.potential import Potential
from .data import Dataset

LOSSES = ("mse", "cross-entropy", "binary-cross-entropy")
ACTIVATIONS: dict[str, Callable] = {
    "tanh": jnp.tanh,
    "relu": jax.nn.relu,
    "elu": jax.nn.elu,
    "gelu": jax.nn.gelu,
    "softplus": jax.nn.softplus,
    "sigmoid": jax.nn.sigmoid,
}
_FORMULA = {
    "mse": "(1/2n) Σᵢ |f(θ, xᵢ) − yᵢ|²",
    "cross-entropy": "(1/n) Σᵢ [log Σₖ exp fₖ(θ, xᵢ) − f_{yᵢ}(θ, xᵢ)]",
    "binary-cross-entropy": "(1/n) Σᵢ [log(1 + exp f(θ, xᵢ)) − yᵢ f(θ, xᵢ)]",
}


def _per_example(kind: str) -> Callable[[jax.Array, jax.Array], jax.Array]:
    if kind == "mse":
        return lambda z, t: 0.5 * ((z - t) ** 2 if z.ndim == 1 else jnp.sum((z - t) ** 2, axis=-1))
    if kind == "cross-entropy":
        return lambda z, t: jax.nn.logsumexp(z, axis=-1) - jnp.sum(t * z, axis=-1)
    return lambda z, t: jax.nn.softplus(z) - t * z


def _check_data(data: Any) -> Dataset:
    if not isinstance(data, Dataset):
        raise ScenarioError(
            f"data: expected a steepest.learning.Dataset (from st.learning.load('digits')), got "
            f"{type(data).__name__}.",
            key="data",
        )
    return data


class TrainingLoss(Potential):
    """The full-batch training loss of a model on a dataset, as a potential on θ ∈ Rᴾ.

    Args:
        predict: ``predict(params, X) -> outputs`` for the parameter pytree ``params`` and a
            batch ``X`` of shape (b, d); outputs (b, K) (or (b,) for one logit).
        params: the initial parameter pytree; ``theta0`` is it flattened.
        data: a :class:`~steepest.learning.data.Dataset`.
        loss: ``"mse"``, ``"cross-entropy"``, ``"binary-cross-entropy"``, or a function
            ``loss(outputs, targets) -> scalar`` (the mean over the batch; no Fisher then).
        l2: weight decay λ ≥ 0: adds (λ/2)|θ|².
        targets: the targets, one row per example (default: the one-hot labels, or the 0/1
            labels for binary-cross-entropy).
        name: shown in reports and plots.
        penalty: an extra regulariser R(θ) of the flat parameter vector, added to the loss.

    Examples:
        >>> import steepest as st
        >>> L = st.learning.logistic_regression(st.learning.load("iris"))
        >>> L.dim, round(float(L(L.theta0)), 6)   # 4 features + 1 bias per class; log 3
        (15, 1.098612)
    """

    #: rebuilds the model from θ (set by :func:`from_equinox`)
    model_at: Callable[[Any], Any] | None = None
    #: maps coordinates φ to θ = Aφ + b (set by :func:`reparametrised`)
    to_theta: Callable[[Any], np.ndarray] | None = None

    def __init__(
        self,
        predict: Callable[[Any, jax.Array], jax.Array],
        params: Any,
        data: Dataset,
        *,
        loss: str | Callable = "mse",
        l2: float = 0.0,
        name: str | None = None,
        model: dict[str, Any] | None = None,
        targets: Any = None,
        penalty: Callable[[jax.Array], jax.Array] | None = None,
    ):
        data = _check_data(data)
        if not callable(loss) and loss not in LOSSES:
            raise ScenarioError(
                f"loss: expected one of {', '.join(LOSSES)} or a function loss(outputs, "
                f"targets), got {loss!r}.",
                key="loss",
            )
        try:
            l2 = float(l2)
        except (TypeError, ValueError):
            raise ScenarioError(f"l2: expected a number ≥ 0, got {l2!r}.", key="l2") from None
        if not np.isfinite(l2) or l2 < 0:
            raise ScenarioError(f"l2: expected a finite number ≥ 0, got {l2!r}.", key="l2")
        leaves = jax.tree.leaves(params)
        if not leaves or not all(jnp.issubdtype(jnp.result_type(a), jnp.inexact) for a in leaves):
            raise ScenarioError(
                "params: expected a pytree of floating-point arrays (the model's parameters).",
                key="params",
            )
        flat, unravel = ravel_pytree(jax.tree.map(lambda a: jnp.asarray(a, float), params))
        if not bool(jnp.all(jnp.isfinite(flat))):
            bad = int(np.sum(~np.isfinite(np.asarray(flat))))
            raise ScenarioError(
                f"params: {bad} of the {flat.size} initial parameters are NaN or infinite; "
                "initialise the model with finite values.",
                key="params",
            )
        self.data = data
        self.predict = predict
        self.unravel = unravel
        self.theta0 = flat
        self.l2 = l2
        self.loss_kind = loss if isinstance(loss, str) else "custom"
        self.X = jnp.asarray(data.X)
        if targets is not None:
            T = np.asarray(targets, dtype=float)
            if T.shape[:1] != (data.n,) or not np.all(np.isfinite(T)):
                raise ScenarioError(
                    f"targets: expected finite numbers, one row per example ({data.n}), got "
                    f"shape {T.shape}.",
                    key="targets",
                )
            self.targets = jnp.asarray(T)
        elif loss == "binary-cross-entropy":
            if data.n_classes != 2:
                raise ScenarioError(
                    f"loss: binary-cross-entropy needs two classes, {data.name} has "
                    f"{data.n_classes}; use cross-entropy.",
                    key="loss",
                )
            self.targets = jnp.asarray(data.y, float)
        else:
            self.targets = jnp.asarray(data.one_hot())
        self._ell = loss if callable(loss) else _per_example(loss)
        if penalty is not None and not callable(penalty):
            raise ScenarioError(
                f"penalty: expected a function of the parameter vector, got {penalty!r}.",
                key="penalty",
            )
        self._penalty = penalty
        self.model = dict(model or {})
        self._check_outputs(flat)
        kind = self.loss_kind
        formula = "L(θ) = " + _FORMULA.get(kind, "loss(f(θ, X), Y)")
        if l2:
            formula += " + (λ/2)|θ|²"
        if penalty is not None:
            formula += " + R(θ)"
        super().__init__(
            self._full,
            dim=int(flat.size),
            name=name or f"{self.model.get('kind', 'model')} {kind} on {data.name}",
            formula=formula,
            params={"data": data.describe(), "model": self.model, "loss": kind, "l2": l2},
        )

    # -- the loss ---------------------------------------------------------------------------
    def _mean_loss(self, theta: jax.Array, X: jax.Array, T: jax.Array) -> jax.Array:
        z = self.predict(self.unravel(theta), X)
        if self.loss_kind == "custom":
            out = self._ell(z, T)
        else:
            out = jnp.mean(self._ell(z, T))
        if self.l2:
            out = out + 0.5 * self.l2 * (theta @ theta)
        if self._penalty is not None:
            out = out + jnp.reshape(self._penalty(theta), ())
        return out

    def _full(self, theta: jax.Array) -> jax.Array:
        return self._mean_loss(theta, self.X, self.targets)

    def _check_outputs(self, flat: jax.Array) -> None:
        try:
            z = jax.eval_shape(lambda t: self.predict(self.unravel(t), self.X), flat)
            out = jax.eval_shape(lambda t: self._mean_loss(t, self.X, self.targets), flat)
        except Exception as err:  # the user's model or loss failed: show their error
            raise ScenarioError(
                f"model: evaluating the model and loss on the {self.data.name} batch failed with "
                f"{type(err).__name__}: {err}.",
                key="model",
            ) from err
        if z.shape[:1] != (self.data.n,):
            raise ScenarioError(
                f"model: predict(params, X) must return one output row per example, shape "
                f"({self.data.n}, …), got {z.shape}.",
                key="model",
            )
        if self.loss_kind in LOSSES and z.shape != self.targets.shape:
            raise ScenarioError(
                f"model: the {self.loss_kind} loss compares the outputs with targets of shape "
                f"{self.targets.shape}, but the model gives {z.shape}.",
                key="model",
            )
        if out.shape not in ((), (1,)):
            raise ScenarioError(
                f"loss: a training loss must be one number for the whole batch, but it has "
                f"shape {out.shape}; average the per-example losses (jnp.mean).",
                key="loss",
            )

    def batch_loss(self, theta: jax.Array, idx: jax.Array) -> jax.Array:
        """The mini-batch loss L_B(θ) on the examples ``idx`` (the l2 term included)."""
        return jnp.reshape(self._mean_loss(theta, self.X[idx], self.targets[idx]), ())

    def outputs(self, theta: Any, X: Any | None = None) -> jax.Array:
        """The model outputs f(θ, X) (default: on the training set)."""
        X = self.X if X is None else jnp.asarray(X)
        return self.predict(self.unravel(jnp.asarray(theta, float)), X)

    def accuracy(self, theta: Any) -> float:
        """The fraction of training examples classified correctly."""
        z = np.asarray(self.outputs(theta))
        pred = (z > 0).astype(int) if z.ndim == 1 else np.argmax(z, axis=-1)
        return float(np.mean(pred == self.data.y))

    # -- Fisher information -------------------------------------------------------------------
    def fisher(self, theta: jax.Array, *, chunk: int = 512) -> jax.Array:
        """The Fisher matrix F(θ) = (1/n) Σᵢ Jᵢᵀ Hᵢ Jᵢ (dense P × P; traceable, for metrics).

        Equal to the generalised Gauss–Newton matrix for these losses (Martens 2020, §9.2).
        """
        if self.loss_kind == "custom":
            raise ScenarioError(
                "loss: the Fisher matrix needs a built-in loss (mse, cross-entropy, "
                "binary-cross-entropy), not a custom function.",
                key="loss",
            )
        if self.dim > 4096:
            raise ScenarioError(
                f"fisher: a dense {self.dim} × {self.dim} Fisher matrix is too large; use a "
                "model with at most 4096 parameters or a diagonal preconditioner.",
                key="fisher",
            )
        params_of = self.unravel

        def block(Xb):
            f = lambda t: self.predict(params_of(t), Xb)  # noqa: E731
            z = f(theta)
            J = (jax.jacfwd if self.dim <= Xb.shape[0] * max(z[0].size, 1) else jax.jacrev)(f)(
                theta
            )
            if self.loss_kind == "binary-cross-entropy":
                p = jax.nn.sigmoid(z)
                return jnp.einsum("ip,i,iq->pq", J, p * (1 - p), J)
            if self.loss_kind == "mse":
                return jnp.einsum("ip,iq->pq" if z.ndim == 1 else "ikp,ikq->pq", J, J)
            p = jax.nn.softmax(z, axis=-1)
            HJ = p[:, :, None] * J - p[:, :, None] * jnp.einsum("ik,ikp->ip", p, J)[:, None, :]
            return jnp.einsum("ikp,ikq->pq", J, HJ)

        n = self.data.n
        F = sum(block(self.X[i : i + chunk]) for i in range(0, n, chunk))
        return F / n


# -- models --------------------------------------------------------------------------------
def _linear(params, X):
    return X @ params["W"] + params["b"]


def least_squares(data: Dataset, *, l2: float = 0.0, one_hot: bool = True) -> TrainingLoss:
    """Linear least squares L(W, b) = (1/2n) Σᵢ |Wᵀxᵢ + b − yᵢ|² (+ (λ/2)|θ|²).

    With ``one_hot`` the targets are the one-hot labels (K outputs); otherwise one output
    regresses the label value. The Hessian is constant: ∇²L = I_K ⊗ (1/n) X̃ᵀX̃ + λI with
    X̃ = [X, 1], so its spectrum is known exactly.
    """
    data = _check_data(data)
    K = data.n_classes if one_hot else 1
    params = {"W": jnp.zeros((data.d, K)), "b": jnp.zeros((K,))}
    if one_hot:
        return TrainingLoss(
            _linear,
            params,
            data,
            loss="mse",
            l2=l2,
            name=f"least squares on {data.name}",
            model={"kind": "least-squares", "outputs": K},
        )
    return TrainingLoss(
        lambda p, X: (X @ p["W"] + p["b"])[:, 0],
        params,
        data,
        loss="mse",
        l2=l2,
        name=f"least squares on {data.name} labels",
        model={"kind": "least-squares", "outputs": 1},
        targets=np.asarray(data.y, float),
    )


def logistic_regression(data: Dataset, *, l2: float = 0.0) -> TrainingLoss:
    """Logistic regression: binary cross-entropy with one logit for two classes, softmax
    cross-entropy with K logits otherwise; parameters W (d × K) and b, from zero.

    Convex; its Hessian equals its Fisher matrix (canonical link).
    """
    data = _check_data(data)
    if data.n_classes == 2:
        params = {"w": jnp.zeros((data.d,)), "b": jnp.zeros(())}
        return TrainingLoss(
            lambda p, X: X @ p["w"] + p["b"],
            params,
            data,
            loss="binary-cross-entropy",
            l2=l2,
            name=f"logistic regression on {data.name}",
            model={"kind": "logistic", "outputs": 1},
        )
    params = {"W": jnp.zeros((data.d, data.n_classes)), "b": jnp.zeros((data.n_classes,))}
    return TrainingLoss(
        _linear,
        params,
        data,
        loss="cross-entropy",
        l2=l2,
        name=f"logistic regression on {data.name}",
        model={"kind": "logistic", "outputs": data.n_classes},
    )


def mlp_params(sizes: Sequence[int], seed: int = 0) -> list[tuple[jax.Array, jax.Array]]:
    """LeCun-normal weights W ~ N(0, 1/fan_in) and zero biases for layer widths ``sizes``."""
    keys = jax.random.split(jax.random.PRNGKey(int(seed)), len(sizes) - 1)
    return [
        (
            jax.random.normal(k, (a, b), dtype=jnp.float64) / np.sqrt(a),
            jnp.zeros((b,), jnp.float64),
        )
        for k, a, b in zip(keys, sizes[:-1], sizes[1:], strict=True)
    ]


def mlp(
    data: Dataset,
    hidden: Sequence[int] = (32,),
    *,
    activation: str = "tanh",
    loss: str = "mse",
    l2: float = 0.0,
    seed: int = 0,
) -> TrainingLoss:
    """A fully connected network d → hidden… → K in pure JAX, from LeCun-normal weights.

    Args:
        hidden: the hidden widths, e.g. ``(32, 32)``.
        activation: one of ``tanh``, ``relu``, ``elu``, ``gelu``, ``softplus``, ``sigmoid``.
        loss: ``"mse"`` (on one-hot targets) or ``"cross-entropy"``.
    """
    data = _check_data(data)
    hidden = tuple(hidden)
    if not all(isinstance(w, (int, np.integer)) and w >= 1 for w in hidden):
        raise ScenarioError(
            f"hidden: expected positive layer widths, e.g. [32, 32], got {list(hidden)!r}.",
            key="hidden",
        )
    if activation not in ACTIVATIONS:
        raise ScenarioError(
            f"activation: expected one of {', '.join(ACTIVATIONS)}, got {activation!r}.",
            key="activation",
        )
    if loss not in ("mse", "cross-entropy"):
        raise ScenarioError(
            f"loss: an MLP classifier takes mse or cross-entropy, got {loss!r}.", key="loss"
        )
    act = ACTIVATIONS[activation]
    sizes = (data.d, *hidden, data.n_classes)

    def predict(params, X):
        z = X
        for W, b in params[:-1]:
            z = act(z @ W + b)
        W, b = params[-1]
        return z @ W + b

    arch = "-".join(str(s) for s in sizes)
    return TrainingLoss(
        predict,
        mlp_params(sizes, seed),
        data,
        loss=loss,
        l2=l2,
        name=f"mlp {arch} {activation} {loss} on {data.name}",
        model={"kind": "mlp", "sizes": list(sizes), "activation": activation, "seed": int(seed)},
    )


def from_equinox(model: Any, data: Dataset, *, loss: str | Callable = "mse", l2: float = 0.0):
    """The training loss of an equinox module ``model(x) -> outputs`` (one example at a time),
    its floating-point leaves flattened into θ; ``loss.model_at(θ)`` rebuilds the module."""
    import equinox as eqx

    params, static = eqx.partition(model, eqx.is_inexact_array)

    def predict(p, X):
        return jax.vmap(eqx.combine(p, static))(X)

    out = TrainingLoss(
        predict,
        params,
        _check_data(data),
        loss=loss,
        l2=l2,
        name=f"{type(model).__name__} on {data.name}",
        model={"kind": "equinox", "class": type(model).__name__},
    )
    out.model_at = lambda theta: eqx.combine(out.unravel(jnp.asarray(theta, float)), static)
    return out


def from_function(
    apply: Callable[[Any, jax.Array], jax.Array],
    params: Any,
    data: Dataset,
    *,
    loss: str | Callable = "mse",
    l2: float = 0.0,
    name: str | None = None,
) -> TrainingLoss:
    """The training loss of any ``apply(params, X) -> outputs`` (e.g. a flax ``model.apply``)."""
    return TrainingLoss(
        apply,
        params,
        _check_data(data),
        loss=loss,
        l2=l2,
        name=name or f"{getattr(apply, '__name__', 'model')} on {data.name}",
        model={"kind": "function"},
    )


def reparametrised(loss: TrainingLoss, A: Any, b: Any = None) -> TrainingLoss:
    """The same loss in new coordinates φ with θ = Aφ + b (A invertible): L̃(φ) = L(Aφ + b).

    Its start is φ₀ = A⁻¹(θ₀ − b). Under this change of variables ∇L̃ = Aᵀ∇L and the Fisher
    matrix becomes F̃ = AᵀFA, so the natural-gradient flow dφ/dt = −F̃⁻¹∇L̃ maps onto
    dθ/dt = −F⁻¹∇L exactly, while the Euclidean flow becomes dθ/dt = −AAᵀ∇L: the natural
    gradient does not depend on the parametrisation (Amari 1998; Martens 2020, §12).
    """
    if not isinstance(loss, TrainingLoss):
        raise ScenarioError(
            f"loss: expected a TrainingLoss, got {type(loss).__name__}.", key="loss"
        )
    A_np = np.asarray(A, dtype=float)
    P = loss.dim
    if A_np.shape != (P, P) or not np.all(np.isfinite(A_np)):
        raise ScenarioError(
            f"A: expected a finite {P} × {P} matrix (one row and column per parameter), got "
            f"shape {A_np.shape}.",
            key="A",
        )
    b_np = np.zeros(P) if b is None else np.asarray(b, dtype=float)
    if b_np.shape != (P,) or not np.all(np.isfinite(b_np)):
        raise ScenarioError(f"b: expected {P} finite numbers, got shape {b_np.shape}.", key="b")
    try:
        phi0 = np.linalg.solve(A_np, np.asarray(loss.theta0) - b_np)
    except np.linalg.LinAlgError:
        raise ScenarioError(
            "A: the matrix is singular; a reparametrisation must be invertible.", key="A"
        ) from None
    if np.linalg.cond(A_np) > 1e12:
        raise ScenarioError(
            f"A: the matrix is numerically singular (condition number {np.linalg.cond(A_np):.2g}); "
            "a reparametrisation must be invertible.",
            key="A",
        )
    Aj, bj = jnp.asarray(A_np), jnp.asarray(b_np)
    base_predict, unravel = loss.predict, loss.unravel

    def penalty(phi):
        theta = Aj @ phi + bj
        out = jnp.zeros((), theta.dtype)
        if loss.l2:
            out = out + 0.5 * loss.l2 * (theta @ theta)
        if loss._penalty is not None:
            out = out + jnp.reshape(loss._penalty(theta), ())
        return out

    custom = loss.loss_kind == "custom"
    out = TrainingLoss(
        lambda phi, X: base_predict(unravel(Aj @ phi + bj), X),
        jnp.asarray(phi0),
        loss.data,
        loss=loss._ell if custom else loss.loss_kind,
        name=f"{loss.name}, reparametrised θ = Aφ + b",
        model={**loss.model, "reparametrised": True},
        targets=loss.targets,
        penalty=penalty if (loss.l2 or loss._penalty is not None) else None,
    )
    out.to_theta = lambda phi: np.asarray(phi) @ A_np.T + b_np
    return out
