"""Clients and clusters: the active client, a local cluster, a remote scheduler, workers.

- :func:`current_client`: ``distributed.get_client()`` or None (the dask-ml convention).
- :func:`local_cluster`: ``LocalCluster`` of single-threaded worker processes on
  127.0.0.1, dashboard on a free local port, the worker environment of
  :data:`WORKER_ENV`; closed when the block ends, also on errors and Ctrl-C.
- :func:`connect`: a client of a scheduler address, or a one-line error.
- :func:`prepare_workers`: one BLAS thread in every worker, present and future
  (a worker plugin, so a worker restarted after a crash gets it too).
- :func:`compute_round`: a round of tasks, run again when the cluster lost its work,
  or a clear error after a bounded wait.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import logging
import os
import tempfile
import time
from collections.abc import Iterator

import dask
import distributed
from distributed.diagnostics.plugin import WorkerPlugin

from ..errors import ClusterError

#: environment of the worker processes of :func:`local_cluster`.  Dask's nanny sets
#: ``MALLOC_TRIM_THRESHOLD_=65536``; glibc then also fixes its mmap threshold at 128 KiB,
#: so every freed temporary above it goes back to the kernel and comes back page-faulted:
#: NumPy minibatch loops measured about 1.4-2.4x slower.  128 MiB keeps memory returned
#: to the system in large steps without that churn.  One BLAS thread per process.
WORKER_ENV = {
    "MALLOC_TRIM_THRESHOLD_": str(128 << 20),
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}

#: dask config key of the longest wait for one round of results, in seconds
TIMEOUT_KEY = "lrnet.distributed.timeout"
DEFAULT_TIMEOUT = 300.0

#: exceptions of a round whose work the cluster lost (a worker died, a connection
#: dropped): the round runs again, its tasks being pure
_LOST = (
    concurrent.futures.CancelledError,  # distributed's Future(s)CancelledError: lost inputs
    distributed.comm.core.CommClosedError,
    OSError,
)


def current_client() -> distributed.Client | None:
    """The active ``distributed.Client`` (``distributed.get_client()``), or None."""
    try:
        return distributed.get_client()
    except ValueError:
        return None


class OneBlasThread(WorkerPlugin):
    """Limit every BLAS library of a worker process to one thread (threadpoolctl).

    Dask runs one task per worker thread; a BLAS pool per task on top would put more
    threads than cores on the machine.
    """

    name = "lrnet-one-blas-thread"

    def setup(self, worker):
        """Set the limit when the worker starts (or when the plugin is registered)."""
        from threadpoolctl import threadpool_limits

        self._limits = threadpool_limits(limits=1, user_api="blas")


def prepare_workers(client: distributed.Client) -> None:
    """One BLAS thread in every worker of ``client``'s cluster, also those started later."""
    client.register_plugin(OneBlasThread(), name=OneBlasThread.name)


def timeout() -> float:
    """Seconds to wait for one round of results (dask config ``lrnet.distributed.timeout``)."""
    return float(dask.config.get(TIMEOUT_KEY, DEFAULT_TIMEOUT))


def compute_round(client: distributed.Client, payload, submit, what: str) -> list:
    """Results of the futures that ``submit(shared)`` makes, in order, within :func:`timeout`.

    ``payload`` is scattered to a worker (``shared``: its future, never inside the
    task graph); ``submit`` submits the round's tasks that read it.  When a worker
    dies, Dask recomputes the partitions it held from their source; a round that lost
    its work with it (a scattered input, a connection) is submitted again, as its tasks
    are pure.  A round that gives nothing back within the limit, for example because
    every worker is gone, is a :class:`ClusterError`, as is a task that killed its
    workers repeatedly.
    """
    limit = timeout()
    deadline = time.monotonic() + limit
    lost = None
    attempt = 0
    while (left := deadline - time.monotonic()) > 0:
        workers = sorted(client.scheduler_info().get("workers", {}))
        if not workers:
            time.sleep(0.2)
            continue
        # to one worker, the others fetch it from there: a broadcast that meets a dying
        # worker can wait for good, while one that meets a dead one fails at once
        holder = workers[attempt % len(workers)]
        attempt += 1
        try:
            shared = client.scatter(payload, workers=[holder], hash=False, timeout=left)
        except Exception as err:  # workers came or went during the scatter
            lost = err
            time.sleep(0.2)
            continue
        try:
            futures = submit(shared)
            distributed.wait(futures, timeout=left)
            return client.gather(futures)
        except TimeoutError:
            break
        except distributed.scheduler.KilledWorker as err:
            raise ClusterError(
                f"The Dask cluster could not run {what}: {err}. A worker died each time it "
                "ran the task (out of memory?); see the workers' logs."
            ) from None
        except _LOST as err:
            lost = err
            time.sleep(0.2)
    n = len(client.scheduler_info().get("workers", {}))
    cause = "" if lost is None else f"; last lost work: {type(lost).__name__}"
    raise ClusterError(
        f"The Dask cluster returned no result for {what} within {limit:g} s "
        f"({n} worker(s) connected{cause}). Check the workers' logs; raise the limit with "
        f"dask.config.set({{{TIMEOUT_KEY!r}: seconds}}) if the steps are that slow."
    )


def connect(address: str, timeout_s: float = 10.0) -> distributed.Client:
    """A client of the scheduler at ``address``, or a one-line :class:`ClusterError`."""
    try:
        return distributed.Client(address, timeout=timeout_s)
    except (OSError, TimeoutError) as err:
        raise ClusterError(
            f"Could not reach the Dask scheduler at {address} within {timeout_s:g} s "
            f"({type(err).__name__}). Check the address and that the scheduler is running "
            "(dask scheduler), or use --dask local:N."
        ) from None


@contextlib.contextmanager
def local_cluster(
    n_workers: int,
    local_directory: str | os.PathLike | None = None,
    as_default: bool = True,
) -> Iterator[distributed.Client]:
    """A client of a fresh ``LocalCluster``; the cluster is closed when the block ends.

    ``n_workers`` single-threaded worker processes on 127.0.0.1 (nothing listens on
    other interfaces), the dashboard on a free local port, worker files in
    ``local_directory`` (a temporary folder by default), :data:`WORKER_ENV` set before
    the workers start.  ``as_default=False``: the client is not made the default one
    (use ``client.as_current()``).
    """
    with contextlib.ExitStack() as stack:
        if local_directory is None:
            local_directory = stack.enter_context(tempfile.TemporaryDirectory(prefix="lrnet-"))
        environ = dict(dask.config.get("distributed.nanny.pre-spawn-environ", {}))
        environ.update(WORKER_ENV)
        with dask.config.set({"distributed.nanny.pre-spawn-environ": environ}):
            cluster = stack.enter_context(
                distributed.LocalCluster(
                    n_workers=n_workers,
                    threads_per_worker=1,
                    processes=True,
                    host="127.0.0.1",
                    dashboard_address="127.0.0.1:0",
                    local_directory=str(local_directory),
                    silence_logs=logging.ERROR,
                )
            )
        client = stack.enter_context(distributed.Client(cluster, set_as_default=as_default))
        prepare_workers(client)
        yield client
