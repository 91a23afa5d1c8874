"""matplotlib figures (never imported by the numerics)."""

from .landscape import contour as contour
from .landscape import energy as energy
from .landscape import landscape_figure as landscape_figure
from .landscape import trajectories as trajectories
