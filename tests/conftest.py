import os

os.environ.setdefault("MPLBACKEND", "Agg")

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)

import steepest  # noqa: E402,F401  (turns on float64 too; asserted in test_config)
