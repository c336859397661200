"""gunicorn's settings for the suite's gunicorn models (``-c python:suite.servers._gunicorn_conf``).

Each worker prepares the case's workload after it has forked (and, for the gevent
worker, after gevent has patched the standard library), then marks itself ready.
"""

from __future__ import annotations

from typing import Any


def post_worker_init(worker: Any) -> None:
    prepare = getattr(worker.wsgi, "prepare", None)
    if prepare is not None:
        prepare()
