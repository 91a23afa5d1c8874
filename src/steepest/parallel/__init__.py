"""Running steepest's chunked work on Dask: in-process by default, on a cluster when asked.

A chunk is one compiled, vmapped kernel call on a worker. The shared object (a potential, a flow)
is sent once per worker with ``Client.scatter(..., broadcast=True)``, so each worker unpickles it
once and its compiled kernels are reused by every chunk that worker runs. Parameter sweeps
(:func:`sweep`) write every chunk straight into one Zarr store and resume after a crash.
"""

from .dask import client_for as client_for
from .dask import map_chunks as map_chunks
from .dask import resolve_client as resolve_client
from .sweeps import computed_counts as computed_counts
from .sweeps import local_cluster as local_cluster
from .sweeps import open_sweep as open_sweep
from .sweeps import resume as resume
from .sweeps import sweep as sweep

__all__ = [
    "client_for",
    "computed_counts",
    "local_cluster",
    "map_chunks",
    "open_sweep",
    "resolve_client",
    "resume",
    "sweep",
]
