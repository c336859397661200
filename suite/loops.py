"""The event loops the async models run on: asyncio's own, or uvloop's (libuv).

Batch models (:mod:`suite.models.asyncio`) and server models (:mod:`suite.servers`) both
come in an asyncio and a uvloop flavour; the uvloop flavour is the asyncio class with
:class:`OnUvloop` in front of it. Imports only the standard library (uvloop when a loop
is made).
"""

from __future__ import annotations

import asyncio
import importlib.util
from collections.abc import Callable
from typing import ClassVar

LoopFactory = Callable[[], asyncio.AbstractEventLoop]


def uvloop_missing() -> str | None:
    """Why the uvloop flavours cannot run here (what to install), or ``None``."""
    if importlib.util.find_spec("uvloop") is None:
        return "uvloop is not installed for this interpreter (pip install uvloop)"
    return None


def factory(use_uvloop: bool) -> LoopFactory | None:
    """uvloop's loop factory, or ``None`` for asyncio's default loop."""
    if not use_uvloop:
        return None
    import uvloop

    return uvloop.new_event_loop


class OnUvloop:
    """The same model on uvloop's event loop: ``class UvloopX(OnUvloop, AsyncioX)``."""

    order: ClassVar[int] = 11

    @classmethod
    def unavailable_reason(cls) -> str | None:
        return super().unavailable_reason() or uvloop_missing()  # type: ignore[misc]

    def loop_factory(self) -> LoopFactory | None:
        return factory(True)
