"""The ``steepest`` command: a thin layer over the Python API."""

from .app import main as main
