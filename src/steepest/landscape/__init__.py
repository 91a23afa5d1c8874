"""Reading the landscape: critical points and their Morse type, manifolds, basins."""

from .basins import BasinMap as BasinMap
from .basins import basins as basins
from .basins import open_basins as open_basins
from .critical import CriticalPointSet as CriticalPointSet
from .critical import classify as classify
from .critical import critical_points as critical_points
from .critical_point import CriticalPoint as CriticalPoint
from .disconnectivity import Disconnectivity as Disconnectivity
from .disconnectivity import disconnectivity as disconnectivity
from .manifolds import Branch as Branch
from .manifolds import Manifolds as Manifolds
from .manifolds import manifolds as manifolds
