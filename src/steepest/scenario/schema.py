"""The TOML scenario schema: every key, its type, and the one-sentence error when it is wrong.

Unknown keys are errors, never ignored: a typo (``stpe = 0.1``) must not silently run the default.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .._core.errors import ScenarioError

#: allowed keys per table; values are (type description, checker name)
SCHEMA: dict[str, dict[str, str]] = {
    "": {
        "title": "str",
        "description": "str",
        "energy": "table",
        "metric": "table",
        "integrate": "table",
        "initial": "table",
        "output": "table",
    },
    "energy": {
        "name": "str",
        "expression": "str",
        "variables": "list[str]",
        "params": "table*",
        "bounds": "matrix",
        "function": "str",
        "dim": "int",
    },
    "metric": {"kind": "str", "matrix": "matrix", "G": "list[list[str]]", "diagonal": "list[str]"},
    "integrate": {
        "method": "str",
        "step": "float",
        "t1": "float",
        "grad_tol": "float",
        "rtol": "float",
        "atol": "float",
        "max_steps": "int",
        "n_save": "int",
        "save_state": "bool",
        "check_energy": "bool",
    },
    "initial": {"points": "matrix", "grid": "table*", "random": "table*"},
    "output": {"dir": "str", "format": "str", "plot": "bool"},
}

EXAMPLE_HINT = {
    "energy": 'energy.name = "muller-brown" or energy.expression = "(x**2 - 1)**2 + y**2"',
    "initial": "initial.points = [[0.5, 1.0]]",
}


def _type_ok(kind: str, v: Any) -> bool:
    if kind == "str":
        return isinstance(v, str)
    if kind == "bool":
        return isinstance(v, bool)
    if kind == "int":
        return isinstance(v, int) and not isinstance(v, bool)
    if kind == "float":
        return isinstance(v, (int, float)) and not isinstance(v, bool)
    if kind in ("table", "table*"):
        return isinstance(v, Mapping)
    if kind == "list[str]":
        return isinstance(v, list) and all(isinstance(u, str) for u in v)
    if kind == "list[float]":
        return isinstance(v, list) and all(
            isinstance(u, (int, float)) and not isinstance(u, bool) for u in v
        )
    if kind == "list[int]":
        return isinstance(v, list) and all(
            isinstance(u, int) and not isinstance(u, bool) for u in v
        )
    if kind == "list[list[str]]":
        return isinstance(v, list) and all(
            isinstance(r, list) and all(isinstance(u, str) for u in r) for r in v
        )
    if kind == "matrix":
        return isinstance(v, list) and all(
            isinstance(r, list)
            and all(isinstance(u, (int, float)) and not isinstance(u, bool) for u in r)
            for r in v
        )
    return False


def _finite(v: Any, key: str) -> None:
    if isinstance(v, float) and not math.isfinite(v):
        raise ScenarioError(f"{key}: the value {v} is not finite; give a finite number.", key=key)
    if isinstance(v, list):
        for i, u in enumerate(v):
            _finite(u, f"{key}[{i}]")
    if isinstance(v, Mapping):
        for k, u in v.items():
            _finite(u, f"{key}.{k}")


def validate(data: Mapping[str, Any]) -> dict[str, Any]:
    """Check keys and types of a scenario mapping; return it as plain dicts."""
    _check_table("", data)
    for table in ("energy", "metric", "integrate", "initial", "output"):
        if table in data:
            _check_table(table, data[table])
    _finite(dict(data), "scenario")
    if "energy" not in data:
        raise ScenarioError(
            f"energy: the scenario has no [energy] table; add one, e.g. {EXAMPLE_HINT['energy']}.",
            key="energy",
        )
    return {k: (dict(v) if isinstance(v, Mapping) else v) for k, v in data.items()}


def _check_table(table: str, data: Any) -> None:
    check_keys(table, data, SCHEMA[table])


def check_keys(table: str, data: Any, allowed: Mapping[str, str]) -> None:
    """Check one table's keys and value types against ``allowed`` (key → type name).

    Type names: ``str``, ``bool``, ``int``, ``float``, ``table``, ``list[str]``,
    ``list[float]``, ``list[int]``, ``list[list[str]]``, ``matrix``. Every scenario kind (flows
    on Rⁿ, fields, geometry, learning) validates its tables with this, so every error reads the
    same way.
    """
    prefix = f"{table}." if table else ""
    if not isinstance(data, Mapping):
        raise ScenarioError(f"{table}: expected a table [{table}], got {data!r}.", key=table)
    for k, v in data.items():
        key = prefix + k
        if k not in allowed:
            near = _closest(k, allowed)
            hint = f" (did you mean {prefix}{near}?)" if near else ""
            raise ScenarioError(
                f"{key}: unknown key{hint}; the keys of [{table or 'top level'}] are "
                f"{', '.join(allowed)}.",
                key=key,
            )
        want = allowed[k]
        if not _type_ok(want, v):
            raise ScenarioError(
                f"{key}: expected {_describe(want)}, got {type(v).__name__} {v!r}.", key=key
            )


def _describe(kind: str) -> str:
    return {
        "str": "a string",
        "bool": "true or false",
        "int": "an integer",
        "float": "a number",
        "table": "a table",
        "table*": "a table",
        "list[str]": "a list of strings",
        "list[float]": "a list of numbers",
        "list[int]": "a list of integers",
        "list[list[str]]": "a list of lists of expression strings",
        "matrix": "a list of lists of numbers",
    }[kind]


def _closest(k: str, options: Mapping[str, Any]) -> str | None:
    import difflib

    m = difflib.get_close_matches(k, list(options), n=1, cutoff=0.6)
    return m[0] if m else None


def set_override(data: dict[str, Any], assignment: str) -> None:
    """Apply ``--set section.key=value`` (the value is read as TOML, else as a string)."""
    if "=" not in assignment:
        raise ScenarioError(
            f"--set {assignment!r}: expected section.key=value, e.g. --set integrate.step=0.01.",
            key="--set",
        )
    path, raw = assignment.split("=", 1)
    path = path.strip()
    try:
        value = tomllib.loads(f"v = {raw.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw.strip()
    parts = path.split(".")
    if not all(parts):
        raise ScenarioError(f"--set {assignment!r}: {path!r} is not a valid key.", key="--set")
    node = data
    for p in parts[:-1]:
        node = node.setdefault(p, {})
        if not isinstance(node, dict):
            raise ScenarioError(f"--set {assignment!r}: {p!r} is not a table.", key=path)
    node[parts[-1]] = value


def read(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise ScenarioError(
            f"scenario: no file {str(path)!r}; give the path of a .toml file.", key="scenario"
        )
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except tomllib.TOMLDecodeError as err:
        raise ScenarioError(
            f"scenario: {path.name} is not valid TOML: {err}.", key="scenario"
        ) from None
