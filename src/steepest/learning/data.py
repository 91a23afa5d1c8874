"""The datasets bundled with scikit-learn (they load offline): digits, iris, wine, breast_cancer.

A :class:`Dataset` holds the design matrix X (n × d, float64) and the labels y; the features are
scaled once, here, so that every loss built on them sees the same numbers:

* ``"standard"``: each feature to zero mean and unit variance (constant features stay at 0);
* ``"center"``: X / max|X|, then the mean removed (keeps the relative scale of the features, as
  raw pixels do; the digits MLP of the edge-of-stability test uses it);
* ``"none"``: as stored.

References:
    Alpaydin & Kaynak, *Optical Recognition of Handwritten Digits* (UCI, 1998) — digits (8×8).
    Fisher, Ann. Eugenics 7, 179 (1936) — iris. Street, Wolberg & Mangasarian, SPIE 1905 (1993)
    — breast cancer (Wisconsin diagnostic). Forina et al., PARVUS (1988) — wine.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._core.errors import ScenarioError

#: dataset name → the scikit-learn loader's name
DATASETS = {
    "digits": "load_digits",
    "iris": "load_iris",
    "wine": "load_wine",
    "breast_cancer": "load_breast_cancer",
}
_ALIASES = {"breast-cancer": "breast_cancer", "cancer": "breast_cancer"}
SCALINGS = ("standard", "center", "none")


@dataclass(frozen=True, eq=False)
class Dataset:
    """A classification dataset: features ``X`` (n, d) and integer labels ``y`` (n,)."""

    name: str
    X: np.ndarray
    y: np.ndarray
    n_classes: int
    feature_names: tuple[str, ...]
    class_names: tuple[str, ...]
    scaling: str

    @property
    def n(self) -> int:
        return int(self.X.shape[0])

    @property
    def d(self) -> int:
        return int(self.X.shape[1])

    def one_hot(self) -> np.ndarray:
        """The labels as one-hot rows, shape (n, n_classes)."""
        return np.eye(self.n_classes)[self.y]

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "n": self.n,
            "d": self.d,
            "n_classes": self.n_classes,
            "scaling": self.scaling,
        }

    def __repr__(self) -> str:
        return f"Dataset({self.name!r}, n={self.n}, d={self.d}, classes={self.n_classes})"


def _resolve(name: Any) -> str:
    if not isinstance(name, str):
        raise ScenarioError(
            f"dataset: expected a name, one of {', '.join(DATASETS)}; got {name!r}.", key="dataset"
        )
    key = _ALIASES.get(name.lower(), name.lower())
    if key not in DATASETS:
        near = difflib.get_close_matches(key, list(DATASETS), n=1, cutoff=0.5)
        hint = f" (did you mean {near[0]!r}?)" if near else ""
        raise ScenarioError(
            f"dataset: unknown dataset {name!r}{hint}; the bundled ones are {', '.join(DATASETS)}.",
            key="dataset",
        )
    return key


def _scale(X: np.ndarray, scaling: str) -> np.ndarray:
    if scaling == "standard":
        sd = X.std(axis=0)
        return (X - X.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
    if scaling == "center":
        X = X / max(float(np.abs(X).max()), 1e-300)
        return X - X.mean(axis=0)
    return X


def load(
    name: str,
    *,
    n: int | None = None,
    classes: list[int] | tuple[int, ...] | None = None,
    scaling: str = "standard",
    shuffle: bool = True,
    seed: int = 0,
) -> Dataset:
    """Load a bundled scikit-learn dataset (offline) as float64 arrays.

    Args:
        name: ``digits`` (1797 × 64, 10 classes), ``iris`` (150 × 4, 3), ``wine`` (178 × 13, 3)
            or ``breast_cancer`` (569 × 30, 2).
        n: keep only the first ``n`` examples (after the shuffle): a smaller full batch.
        classes: keep only these labels (relabelled 0, 1, … in the order given), e.g.
            ``classes=[1, 2]`` for versicolor against virginica on iris.
        scaling: ``"standard"``, ``"center"`` or ``"none"`` (see the module docstring). The
            scaling uses the kept examples only.
        shuffle: permute the examples with ``seed`` before taking the first ``n``.

    Examples:
        >>> from steepest.learning import data
        >>> data.load("iris").X.shape
        (150, 4)
    """
    key = _resolve(name)
    if scaling not in SCALINGS:
        raise ScenarioError(
            f"scaling: expected one of {', '.join(SCALINGS)}, got {scaling!r}.", key="scaling"
        )
    import sklearn.datasets

    raw = getattr(sklearn.datasets, DATASETS[key])()
    X = np.asarray(raw.data, dtype=np.float64)
    y = np.asarray(raw.target, dtype=np.int64)
    class_names = tuple(str(c) for c in getattr(raw, "target_names", np.unique(y)))
    if classes is not None:
        cl = [int(c) for c in classes]
        present = set(np.unique(y).tolist())
        if len(cl) < 2 or len(set(cl)) != len(cl) or not set(cl) <= present:
            raise ScenarioError(
                f"classes: expected two or more distinct labels of {key} "
                f"({sorted(present)}), got {list(classes)!r}.",
                key="classes",
            )
        keep = np.isin(y, cl)
        relabel = {c: i for i, c in enumerate(cl)}  # in the order given
        X, y = X[keep], np.asarray([relabel[int(v)] for v in y[keep]], dtype=np.int64)
        class_names = tuple(class_names[c] for c in cl)
    if shuffle:
        perm = np.random.default_rng(seed).permutation(X.shape[0])
        X, y = X[perm], y[perm]
    if n is not None:
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 2 <= n <= len(X):
            raise ScenarioError(
                f"n: expected an integer from 2 to {len(X)} (the examples of {key}), got {n!r}.",
                key="n",
            )
        X, y = X[:n], y[:n]
    n_classes = int(y.max()) + 1
    if len(np.unique(y)) < n_classes:
        raise ScenarioError(
            f"n: the first {len(y)} examples of {key} do not contain every class; take more.",
            key="n",
        )
    return Dataset(
        name=key,
        X=np.ascontiguousarray(_scale(X, scaling)),
        y=y,
        n_classes=n_classes,
        feature_names=tuple(str(f) for f in getattr(raw, "feature_names", range(X.shape[1]))),
        class_names=class_names,
        scaling=scaling,
    )
