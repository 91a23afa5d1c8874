"""Integrators: fixed-step schemes in compiled loops and adaptive/stiff solves via diffrax."""

from .methods import METHODS as METHODS
from .methods import Method as Method
from .solve import solve as solve
