"""TOML scenarios: schema, validation (every error names its key) and construction."""

from .build import Scenario as Scenario
from .build import build as build
from .build import load as load
