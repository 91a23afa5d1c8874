"""Energies: potentials on Rⁿ and the registry of built-in landscapes."""

from . import potentials as potentials
from .potential import Potential as Potential
