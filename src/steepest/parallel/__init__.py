"""Running steepest's chunked work on Dask: in-process by default, on a cluster when asked.

A chunk is one compiled, vmapped kernel call on a worker. The shared object (a potential, a flow)
is sent once per worker with ``Client.scatter(..., broadcast=True)``, so each worker unpickles it
once and its compiled kernels are reused by every chunk that worker runs.
"""

from .dask import client_for as client_for
from .dask import map_chunks as map_chunks
from .dask import resolve_client as resolve_client

__all__ = ["client_for", "map_chunks", "resolve_client"]
