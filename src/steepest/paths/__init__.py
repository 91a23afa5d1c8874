"""Transition paths: nudged elastic band, string method, dimer and gentlest ascent, rates."""

from .neb import neb as neb
from .path import Path as Path
from .rates import EscapeEstimate as EscapeEstimate
from .rates import LangevinPaths as LangevinPaths
from .rates import RateEstimate as RateEstimate
from .rates import escape_rate as escape_rate
from .rates import harmonic_rate as harmonic_rate
from .rates import langevin as langevin
from .saddle import dimer as dimer
from .saddle import escape_saddles as escape_saddles
from .saddle import gentlest_ascent as gentlest_ascent
from .string import string as string
