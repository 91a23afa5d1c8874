"""float64 is on by default; STEEPEST_X64=0 turns it off (checked in a fresh process)."""

import os
import subprocess
import sys

import jax


def test_float64_on_after_import():
    import steepest  # noqa: F401

    assert jax.numpy.zeros(1).dtype == jax.numpy.float64


def test_opt_out_in_a_fresh_process():
    code = "import steepest, jax.numpy as jnp; print(jnp.zeros(1).dtype)"
    env = {**os.environ, "STEEPEST_X64": "0"}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "float32"
