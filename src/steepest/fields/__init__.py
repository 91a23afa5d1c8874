"""Field gradient flows: a field c(x) on a grid flowing down a free-energy functional.

L² gives heat flow and Allen–Cahn, H⁻¹ gives Cahn–Hilliard, the Wasserstein metric gives
Fokker–Planck and the porous-medium equation; Fourier and Fick transport with entropy production.

    grid = SpectralGrid | FiniteVolumeGrid        (grids)
    F    = pfhub1() | ginzburg_landau() | …       (functionals)
    flow = L2Flow | HMinus1Flow | WassersteinFlow (flows)
    sol  = evolve(flow, c0, t1, dt=…, scheme=…)   (schemes, stepping)
"""

from .evolve import evolve as evolve
from .evolve import save_times as save_times
from .flows import FieldFlow as FieldFlow
from .flows import HMinus1Flow as HMinus1Flow
from .flows import L2Flow as L2Flow
from .flows import NonPeriodicWarning as NonPeriodicWarning
from .flows import WassersteinFlow as WassersteinFlow
from .flows import make_flow as make_flow
from .functionals import Density as Density
from .functionals import Functional as Functional
from .functionals import GradientFunctional as GradientFunctional
from .functionals import dirichlet as dirichlet
from .functionals import entropy_potential as entropy_potential
from .functionals import ginzburg_landau as ginzburg_landau
from .functionals import pfhub1 as pfhub1
from .functionals import pfhub1_initial as pfhub1_initial
from .functionals import porous_medium as porous_medium
from .grids import FiniteVolumeGrid as FiniteVolumeGrid
from .grids import Grid as Grid
from .grids import SpectralGrid as SpectralGrid
from .grids import make_grid as make_grid
from .operators import flux as flux
from .run import open_run as open_run
from .run import resume as resume
from .run import stream as stream
from .schemes import SCHEMES as SCHEMES
from .solution import FieldSolution as FieldSolution
from .stepping import Integrator as Integrator
from .stepping import StepControl as StepControl
from .transport import Transport as Transport
from .transport import TransportSolution as TransportSolution
from .transport import solve_transport as solve_transport
