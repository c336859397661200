"""The worker's messages to its parent: one JSON object per line, each with an ``event``.

``hello`` (interpreter facts) -> ``ready`` (start-up done) -> ``round`` per round ->
``done``; or ``unavailable`` / ``error`` instead of the rest.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any, TextIO

HELLO, READY, ROUND, DONE, ERROR, UNAVAILABLE = "hello", "ready", "round", "done", "error", "unavailable"


def send(stream: TextIO, event: str, **fields: Any) -> None:
    stream.write(json.dumps({"event": event, **fields}) + "\n")
    stream.flush()


def checksum(values: Sequence[int]) -> str:
    """A short digest of a round's task values, in task order."""
    return hashlib.sha256(",".join(map(str, values)).encode()).hexdigest()[:16]
