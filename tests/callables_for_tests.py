"""Functions the callable-workload tests run by import path (not a test module)."""

from __future__ import annotations

import anyio


def crunch(n: int, *, index: int = 0) -> dict[str, int]:
    total = 0
    for i in range(n):
        total = (total * 31 + i + index) % 1_000_003
    return {"index": index, "total": total}


async def crunch_async(n: int, *, index: int = 0) -> dict[str, int]:
    await anyio.sleep(0)  # works under asyncio and trio alike
    return crunch(n, index=index)


def boom(index: int = 0) -> None:
    raise ValueError(f"task {index} refused")


square = lambda x: x * x  # noqa: E731 -- a lambda cannot be pickled by reference
