"""Client resolution and an ordered chunk map over a Dask cluster (or in-process)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from .._core.errors import ScenarioError

CONNECT_TIMEOUT = 6.0  #: seconds to wait for a scheduler named by its address to answer


def _probe(address: str, seconds: float) -> None:
    """Ask the scheduler at ``address`` who it is, within ``seconds``, or raise TimeoutError or
    OSError. ``distributed.Client`` itself waits forever on a server that accepts the TCP
    connection and never answers (its handshake read has no deadline), so the address is
    probed first, by one ``identity`` message under ``asyncio.wait_for`` in a thread of its own
    (the caller may be inside a running event loop, as in Jupyter)."""
    import asyncio
    import threading

    async def ask() -> None:
        from distributed.comm import connect

        comm = await connect(address, timeout=seconds)
        try:
            await comm.write({"op": "identity"})
            await comm.read()
        finally:
            comm.abort()

    outcome: dict[str, BaseException] = {}

    def run() -> None:
        try:
            asyncio.run(asyncio.wait_for(ask(), seconds))
        except BaseException as e:  # noqa: BLE001 - handed to the caller
            outcome["error"] = e

    th = threading.Thread(target=run, name="steepest-probe-scheduler", daemon=True)
    th.start()
    th.join(seconds + 2.0)
    if th.is_alive():
        raise TimeoutError(f"no answer within {seconds:g} s")
    err = outcome.get("error")
    if isinstance(err, asyncio.TimeoutError | TimeoutError):
        raise TimeoutError(f"no answer within {seconds:g} s")
    if err is not None:
        raise OSError(str(err) or type(err).__name__)


def resolve_client(client: Any) -> Any:
    """None (run in-process), a ``distributed.Client``, or a scheduler address to connect to."""
    if client is None:
        return None
    try:
        from distributed import Client
    except ImportError:  # pragma: no cover - dask[distributed] is a dependency
        raise ScenarioError(
            "client: running on a cluster needs dask.distributed; pip install 'dask[distributed]'.",
            key="client",
        ) from None
    if isinstance(client, Client):
        return client
    if isinstance(client, str):
        try:
            _probe(client, CONNECT_TIMEOUT)
            # not the process-wide default: xarray and dask.array in this process stay as they were
            return Client(client, timeout=f"{CONNECT_TIMEOUT}s", set_as_default=False)
        except (OSError, TimeoutError, ValueError) as e:
            raise ScenarioError(
                f"client: could not reach a Dask scheduler at {client!r} ({e}); check the "
                "address (e.g. tcp://host:8786) or leave it out to run in-process.",
                key="client",
            ) from None
    raise ScenarioError(
        f"client: expected a distributed.Client or a scheduler address such as "
        f"'tcp://host:8786', got {type(client).__name__}.",
        key="client",
    )


@contextmanager
def client_for(client: Any) -> Iterator[Any]:
    """``resolve_client`` as a context: a client made here from an address is closed on exit."""
    cl = resolve_client(client)
    try:
        yield cl
    finally:
        if cl is not None and cl is not client:
            cl.close()


def map_chunks(
    fn: Callable[..., Any],
    shared: Any,
    items: Iterable[Any],
    client: Any = None,
    *,
    ordered: bool = True,
) -> Iterator[tuple[int, Any]]:
    """Yield ``(i, fn(shared, item_i))`` for every item, in order or as chunks complete.

    In-process when ``client`` is None; otherwise every item is one task on the cluster, with
    ``shared`` scattered once to every worker. A task's exception is re-raised here.
    """
    items = list(items)
    if client is None:
        for i, it in enumerate(items):
            yield i, fn(shared, it)
        return
    from distributed import as_completed

    shared_f = client.scatter(shared, broadcast=True, hash=False)
    futures = [client.submit(fn, shared_f, it, pure=False) for it in items]
    index = {f.key: i for i, f in enumerate(futures)}
    try:
        if ordered:
            for i, f in enumerate(futures):
                yield i, f.result()
        else:
            for f in as_completed(futures, loop=client.loop):
                yield index[f.key], f.result()
    finally:
        for f in futures:
            f.cancel()
