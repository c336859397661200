"""Measure which concurrency model wins for a workload: asyncio, threads, processes, ..."""

from __future__ import annotations

__version__ = "0.1.0"
