"""Learning as a gradient flow: gradient descent is explicit Euler on dθ/dt = −∇L(θ).

Losses over real data as potentials, curvature and stability limits, trajectories beside their
flow, and optimisers as discretisations of ODEs.
"""

from .curvature import Curvature as Curvature
from .curvature import curvature as curvature
from .curvature import sharpness_along as sharpness_along
from .data import Dataset as Dataset
from .data import load as load
from .losses import TrainingLoss as TrainingLoss
from .losses import from_equinox as from_equinox
from .losses import from_function as from_function
from .losses import least_squares as least_squares
from .losses import logistic_regression as logistic_regression
from .losses import mlp as mlp
from .trajectories import Trajectories as Trajectories
from .trajectories import gd_and_flow as gd_and_flow
from .trajectories import gradient_descent as gradient_descent
from .trajectories import gradient_flow as gradient_flow
from .trajectories import proximal_point as proximal_point
