"""The gevent model's process: a greenlet pool over a patched standard library.

Started as ``python -c "from gevent import monkey; monkey.patch_all(); ..."`` (see
:data:`suite.models.greenlets.BOOT`), so sockets, ``time.sleep``, locks and DNS switch
greenlets before anything else imports them. It talks to its runner over the
descriptor given as its argument (a :class:`multiprocessing.connection.Connection`):

- first it receives the runner's ``sys.path``, then ``(workload, workers)``; it prepares
  the workload and answers ``ready``;
- then, per round, ``("round", tasks, round_no)`` -> ``("ok", started, duration_s,
  timed values)`` or ``("error", exception)``; the clock runs here, around the pool's
  map and nothing else;
- ``("close",)`` ends it.
"""

from __future__ import annotations

import sys
import time
from multiprocessing.connection import Connection
from typing import Any


def main() -> None:
    from gevent.pool import Pool

    conn = Connection(int(sys.argv[1]))
    # The runner's import path first (as multiprocessing's spawn sends it), so that a
    # workload defined in the runner's modules unpickles here.
    sys.path[:0] = [p for p in conn.recv() if p not in sys.path]
    workload, workers = conn.recv()
    workload.prepare(workers)
    pool = Pool(workers)
    conn.send(("ready",))
    while True:
        message: tuple[Any, ...] = conn.recv()
        if message[0] != "round":
            break
        _, tasks, round_no = message
        try:
            workload.begin_round(round_no)
            inputs = workload.inputs(tasks)
            started = time.perf_counter()
            values = list(pool.imap(workload.run_timed, inputs))
            duration = time.perf_counter() - started
        except Exception as exc:
            conn.send(("error", exc))
            continue
        conn.send(("ok", started, duration, [(v, s, e) for v, s, e, *_ in values]))
    workload.close()
    conn.close()
