"""Numeric tasks for the numpy-blas scenarios (the `callable` kind imports this file).

numpy is imported when a task first runs, so the scenario validates without it; the
scenarios name it in `requires`, and without numpy their cases are reported unavailable.
"""

from __future__ import annotations

from typing import Any

_matrices: dict[int, Any] = {}


def matmul(index: int, n: int = 400) -> int:
    """One n x n matrix product in numpy (its BLAS may run it on several threads)."""
    import numpy as np

    if n not in _matrices:  # made once per process, outside the product's time
        rng = np.random.default_rng(12345)
        _matrices[n] = (rng.random((n, n)), rng.random((n, n)))
    a, b = _matrices[n]
    # Rounded: how a BLAS splits the sums over its threads moves the last bits only.
    return int(round(float((a @ b).sum()) + index))
