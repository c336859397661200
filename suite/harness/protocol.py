"""The worker's messages to its parent: one JSON object per line, each with an ``event``.

``hello`` (interpreter facts) -> ``ready`` (start-up done) -> ``round`` per round ->
``done``; or ``unavailable`` / ``error`` instead of the rest. A paced worker (interleaved
rounds) waits for a ``go`` line on its stdin before each round, and ``stop`` ends them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any, TextIO

HELLO, READY, ROUND, DONE, ERROR, UNAVAILABLE = "hello", "ready", "round", "done", "error", "unavailable"
#: What a parent pacing the rounds writes to the worker's stdin before each round; any
#: other line (or the end of input) ends the rounds.
GO, STOP = "go", "stop"


def send(stream: TextIO, event: str, **fields: Any) -> None:
    stream.write(json.dumps({"event": event, **fields}) + "\n")
    stream.flush()


def checksum(values: Sequence[int]) -> str:
    """A short digest of a round's task values, in task order."""
    return hashlib.sha256(",".join(map(str, values)).encode()).hexdigest()[:16]
