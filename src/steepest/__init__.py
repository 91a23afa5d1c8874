"""steepest — gradient flows: the steepest descent of an energy, dx/dt = −G(x)⁻¹∇V(x).

A gradient flow = a state space + an energy + a metric. Importing steepest turns on float64 in
JAX unless the environment variable ``STEEPEST_X64=0`` is set.
"""

from ._core.config import configure_host_devices as _configure_host_devices
from ._core.config import configure_x64 as _configure_x64

_configure_host_devices()
_configure_x64()

from . import fields as fields  # noqa: E402
from . import geometry as geometry  # noqa: E402
from . import landscape as landscape  # noqa: E402
from . import learning as learning  # noqa: E402
from . import parallel as parallel  # noqa: E402
from . import paths as paths  # noqa: E402
from ._core.config import enable_compilation_cache as enable_compilation_cache  # noqa: E402
from ._core.errors import ConvergenceError as ConvergenceError  # noqa: E402
from ._core.errors import FlowDiverged as FlowDiverged  # noqa: E402
from ._core.errors import ScenarioError as ScenarioError  # noqa: E402
from ._core.errors import SteepestError as SteepestError  # noqa: E402
from .energy import potentials as potentials  # noqa: E402
from .energy.potential import Potential as Potential  # noqa: E402
from .flow import GradientFlow as GradientFlow  # noqa: E402
from .integrate.methods import METHODS as METHODS  # noqa: E402
from .integrate.solve import solve as solve  # noqa: E402
from .metric import Euclidean as Euclidean  # noqa: E402
from .metric import Metric as Metric  # noqa: E402
from .metric import Preconditioned as Preconditioned  # noqa: E402
from .metric import Riemannian as Riemannian  # noqa: E402
from .solution import Solution as Solution  # noqa: E402
from .solution import load as load  # noqa: E402

__version__ = "0.1.0"
