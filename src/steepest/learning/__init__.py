"""Learning as a gradient flow: gradient descent is explicit Euler on dθ/dt = −∇L(θ).

Losses over real data as potentials (:mod:`.losses`, :mod:`.data`); their curvature, stability
limit and the curvature report (:mod:`.curvature`, :mod:`.diagnose`); gradient descent beside its
flow, with the sharpness along both (:mod:`.trajectories`); optimisers as discretisations of
ODEs: heavy ball and Nesterov (:mod:`.momentum`), proximal point = implicit Euler, preconditioned
and natural gradient = a change of metric (:mod:`.natural`), entropic mirror descent = the
replicator flow (:mod:`.mirror`), any optax optimiser (:mod:`.optimizers`), mini-batch SGD
(:mod:`.sgd`); the modified equation of gradient descent (:mod:`.modified`).
"""

from .curvature import Curvature as Curvature
from .curvature import curvature as curvature
from .data import Dataset as Dataset
from .data import load as load
from .diagnose import Diagnosis as Diagnosis
from .diagnose import diagnose as diagnose
from .losses import TrainingLoss as TrainingLoss
from .losses import from_equinox as from_equinox
from .losses import from_function as from_function
from .losses import least_squares as least_squares
from .losses import logistic_regression as logistic_regression
from .losses import mlp as mlp
from .losses import reparametrised as reparametrised
from .mirror import mirror_descent as mirror_descent
from .mirror import replicator_flow as replicator_flow
from .modified import modified_loss as modified_loss
from .momentum import heavy_ball as heavy_ball
from .momentum import heavy_ball_ode as heavy_ball_ode
from .momentum import nesterov as nesterov
from .momentum import nesterov_ode as nesterov_ode
from .natural import fisher_metric as fisher_metric
from .natural import preconditioner as preconditioner
from .optimizers import run_optax as run_optax
from .sgd import sgd as sgd
from .sharpness import sharpness_along as sharpness_along
from .trajectories import Trajectories as Trajectories
from .trajectories import beside_flow as beside_flow
from .trajectories import gd_and_flow as gd_and_flow
from .trajectories import gradient_descent as gradient_descent
from .trajectories import gradient_flow as gradient_flow
from .trajectories import proximal_point as proximal_point
