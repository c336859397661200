"""Serve mode, the worker's half: the model as a server on a loopback socket.

The worker (:func:`serve`) binds a listening socket on 127.0.0.1 (port from the OS),
starts the server model on it outside any timing, says ``ready`` with the port, and
serves until its parent says anything but ``status``. The parent's half is
:mod:`suite.harness.serve_case`; this half imports nothing of it (nor the load
generator's HTTP parser), so a worker starts under an interpreter that lacks it.
"""

from __future__ import annotations

import os
import socket
import time
from typing import Any, TextIO

from suite.errors import CaseFailed
from suite.harness import environment, protocol, resources
from suite.spec import registry
from suite.spec.cases import Case

#: Descriptors beyond a load point's connections that the server and generator keep.
DESCRIPTOR_MARGIN = 64
STATUS = "status"


def listener(reserve_only: bool = False) -> socket.socket:
    """A socket bound on 127.0.0.1 (port from the OS), listening unless ``reserve_only``:
    then it only holds the port, with ``SO_REUSEPORT``, for a server that listens on
    sockets of its own (see :attr:`suite.servers.Server.listens_itself`)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reserve_only:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    # Accepted connections inherit TCP_NODELAY from the listening socket (Linux). The
    # suite's models set it on each connection, as asyncio and uvloop do; a server that
    # writes a response's head and body in two sends and leaves Nagle's algorithm on
    # (gevent.pywsgi; uvicorn on --fd, whose socket asyncio takes for a Unix one) would
    # otherwise wait for the client's delayed ACK: 64 ms a request instead of 21.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(("127.0.0.1", 0))  # loopback only
    if not reserve_only:
        sock.listen(4096)
    return sock


def serve(
    case: Case, endpoint: dict[str, Any] | None, out: TextIO, scratch: str | None, control: TextIO
) -> None:
    """Serve ``case``'s model until ``control`` says anything but ``status``."""
    limit = resources.raise_descriptor_limit()
    protocol.send(out, protocol.HELLO, pid=os.getpid(), env=environment.describe())
    server_class = registry.server(case.model)
    workload_class = registry.workload(case.kind)
    reason = server_class.unavailable_reason() or workload_class.unavailable_reason()
    if reason is not None:
        protocol.send(out, protocol.UNAVAILABLE, reason=reason)
        return
    assert case.load is not None
    needed = case.load["connections"] + DESCRIPTOR_MARGIN
    if needed > limit:
        raise CaseFailed(f"the server would need {needed} file descriptors but RLIMIT_NOFILE allows {limit}")
    workload = workload_class(workload_class.Params.model_validate(case.params), endpoint, scratch)
    sock = listener(server_class.listens_itself())
    port = sock.getsockname()[1]
    server = server_class(workload, case.workers, case.fanout)
    began = time.perf_counter()
    server.start(sock)
    protocol.send(
        out,
        protocol.READY,
        startup_s=time.perf_counter() - began,
        start_method=server.start_method,
        port=port,
    )
    try:
        for line in control:
            if line.strip() != STATUS:
                break
            protocol.send(out, STATUS, failure=server.failure())
        uss, pss = resources.unique_and_proportional_bytes()
        memory = {"rss_end_bytes": resources.rss_bytes(), "uss_bytes": uss, "pss_bytes": pss}
    finally:
        server.stop()
        sock.close()
    protocol.send(out, protocol.DONE, **memory)
