#!/usr/bin/env bash
# The headline benchmarks on a CUDA device, with the same table as `make bench`.
# A no-op (exit 0, with a message) where there is no NVIDIA GPU.
#
#   bash benchmarks/gpu.sh [--quick]
#
# It needs the project's .venv (`make install`); on a GPU machine it adds JAX's CUDA plugin to it
# (pip's jax[cuda12] extra) when JAX does not see a GPU yet, then runs benchmarks/run_all.py with
# one device (no CPU host-device sharding) and the table labelled "gpu".
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}

if ! command -v nvidia-smi >/dev/null 2>&1 || ! nvidia-smi -L >/dev/null 2>&1; then
  echo "gpu.sh: no NVIDIA GPU here (nvidia-smi finds none); nothing to run. Use 'make bench' for the CPU table."
  exit 0
fi
nvidia-smi -L
[ -x "$PY" ] || { echo "gpu.sh: no $PY; run 'make install' first."; exit 2; }

has_gpu() { "$PY" -c "import jax, sys; sys.exit(0 if any(d.platform == 'gpu' for d in jax.devices()) else 1)" 2>/dev/null; }
if ! has_gpu; then
  echo "gpu.sh: JAX sees no GPU; installing its CUDA plugin into $PY's environment"
  v=$("$PY" -c "import jax; print(jax.__version__)")
  "$PY" -m pip install -q "jax[cuda12]==$v" || "$PY" -m pip install -q "jax[cuda13]==$v"
  has_gpu || { echo "gpu.sh: JAX still sees no GPU after installing the CUDA plugin; see 'steepest info'."; exit 1; }
fi
export STEEPEST_HOST_DEVICES=1 JAX_PLATFORMS=cuda,cpu
"$PY" -c "import jax; print('jax', jax.__version__, jax.devices())"
exec "$PY" benchmarks/run_all.py --device gpu --only ensemble basins pfhub geometry learning sweep "$@"
