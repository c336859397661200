"""HTTP/1.1 as every server model speaks it: one parser, one handler, one response shape.

The parser is httptools (llhttp, the C parser of Node.js; what uvicorn uses). It is
callback-driven and does no I/O, so the selector loop of the sync models and the
asyncio protocol of the async ones feed it the same bytes the same way: the comparison
is about the concurrency model, not about parsers. Requests are ``GET /task?i=N``; the
answer is ``200`` with request ``N``'s value as text, ``502`` when its work failed in
a way the workload counts (an HTTP backend's 503), ``500`` when it raised, ``404`` for
any other path, ``400`` for what does not parse.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable
from urllib.parse import parse_qs

from suite.workloads import Workload

try:
    import httptools
except ImportError:  # Server.unavailable_reason says what to install; no server starts
    httptools = None  # type: ignore[assignment]

#: What a malformed request raises while parsing (nothing to catch without httptools).
PARSE_ERRORS: tuple[type[Exception], ...] = (httptools.HttpParserError,) if httptools else ()

#: A handler's answer: status and body.
Answer = tuple[int, bytes]
#: What fanout values fold into (a request's tasks combine into one value).
_FOLD = (1 << 61) - 1
REASONS = {
    200: b"OK",
    400: b"Bad Request",
    404: b"Not Found",
    500: b"Internal Server Error",
    502: b"Bad Gateway",
}


class RequestParser:
    """Bytes in, complete requests out: ``(url, keep_alive)`` each, in arrival order."""

    def __init__(self) -> None:
        self._parser = httptools.HttpRequestParser(self)
        self._url = b""
        self.done: deque[tuple[bytes, bool]] = deque()

    # httptools callbacks
    def on_url(self, url: bytes) -> None:
        self._url += url

    def on_message_complete(self) -> None:
        self.done.append((self._url, self._parser.should_keep_alive()))
        self._url = b""

    def feed(self, data: bytes) -> deque[tuple[bytes, bool]]:
        """Parse ``data``; raises :class:`httptools.HttpParserError` on a bad request."""
        self._parser.feed_data(data)
        return self.done


def task_index(url: bytes) -> int | None:
    """``N`` of ``/task?i=N``; ``None`` for another path or no valid ``i``."""
    try:
        parsed = httptools.parse_url(url)
    except httptools.HttpParserInvalidURLError:
        return None
    if parsed.path != b"/task":
        return None
    values = parse_qs((parsed.query or b"").decode("ascii", "replace")).get("i")
    if not values or not values[0].isdigit():
        return None
    return int(values[0])


def response(status: int, body: bytes, keep_alive: bool) -> bytes:
    head = b"HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\nConnection: %s\r\n\r\n" % (
        status,
        REASONS.get(status, b"Error"),
        len(body),
        b"keep-alive" if keep_alive else b"close",
    )
    return head + body


def task_indexes(workload: Workload, index: int, fanout: int) -> range | list[int]:
    """The workload's task indexes request ``index`` runs (kept within its ``tasks``)."""
    tasks = workload.params.tasks
    return [(index * fanout + j) % tasks for j in range(fanout)]


def _answer(workload: Workload, values: list[int]) -> Answer:
    for value in values:
        error = workload.error_class(value)
        if error is not None:
            return 502, error.encode()
    folded = 0
    for value in values:
        folded = (folded * 31 + value) % _FOLD
    return 200, str(folded).encode()


def handle(workload: Workload, url: bytes, fanout: int) -> Answer:
    """One request, in the calling thread: its tasks one after another."""
    index = task_index(url)
    if index is None:
        return 404, b"try GET /task?i=N"
    try:
        values = [workload.run_timed(i)[0] for i in task_indexes(workload, index, fanout)]
    except Exception as exc:  # the request fails, the server goes on
        return 500, f"{type(exc).__name__}: {exc}".encode()
    return _answer(workload, values)


async def handle_async(
    workload: Workload, url: bytes, fanout: int, gather: Callable[..., Awaitable[list[int]]]
) -> Answer:
    """One request on an event loop: its tasks at once (``gather``), as a coroutine can."""
    index = task_index(url)
    if index is None:
        return 404, b"try GET /task?i=N"

    async def value(i: int) -> int:
        return (await workload.run_timed_async(i))[0]

    try:
        values = await gather(*(value(i) for i in task_indexes(workload, index, fanout)))
    except Exception as exc:
        return 500, f"{type(exc).__name__}: {exc}".encode()
    return _answer(workload, list(values))
