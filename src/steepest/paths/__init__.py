"""Transition paths: nudged elastic band, string method, dimer and gentlest ascent, rates."""

from .neb import neb as neb
from .path import Path as Path
from .string import string as string
from .saddle import dimer as dimer
from .saddle import gentlest_ascent as gentlest_ascent
from .saddle import escape_saddles as escape_saddles
