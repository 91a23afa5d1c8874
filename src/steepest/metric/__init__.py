"""Metrics: Euclidean, a constant preconditioner, or a state-dependent Riemannian metric."""

from .metrics import Euclidean as Euclidean
from .metrics import Metric as Metric
from .metrics import Preconditioned as Preconditioned
from .metrics import Riemannian as Riemannian
