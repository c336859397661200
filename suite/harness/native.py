"""Native thread pools (BLAS, OpenMP) in a case's worker: their sizes and their limit.

The launcher sets the pools' environment variables (``OMP_NUM_THREADS``...) for the worker
when the scenario says ``native_threads``, so every process of the case, pool processes and
Dask workers included, starts its pools at that size; here threadpoolctl applies the limit
to pools already loaded in the worker, and reads the pools the work loaded. threadpoolctl
is optional (the ``numeric`` extra): without it nothing is limited here or recorded.
"""

from __future__ import annotations

from typing import Any

from suite.workloads import Workload


def limit(threads: int | None) -> Any:
    """Limit the pools loaded in this process to ``threads`` each; keep the result alive."""
    if threads is None:
        return None
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return None
    return threadpool_limits(limits=threads)


def pools(workload: Workload) -> dict[str, int] | None:
    """The native pools this process has loaded, by library (``{"openblas": 2}``), after
    loading what the work's tasks import; ``None`` without threadpoolctl.

    Pool processes and Dask workers start theirs from the same environment, so the sizes
    read here are theirs too.
    """
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    workload.load_modules()
    found: dict[str, int] = {}
    for pool in threadpool_info():
        name = str(pool.get("internal_api"))
        found[name] = max(found.get(name, 0), int(pool["num_threads"]))
    return found
