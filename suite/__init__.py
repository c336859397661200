"""Measure which concurrency model wins for a workload: asyncio, threads, processes, ...

PYTEST_DONT_REWRITE: the package is also a pytest plugin that `suite run` imports before
pytest starts; it has no test assertions to rewrite.
"""

from __future__ import annotations

__version__ = "0.1.0"
