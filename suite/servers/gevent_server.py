"""gevent's own WSGI server, ``gevent.pywsgi``: one process, a greenlet per connection.

The process is started with the standard library patched first thing (``monkey.patch_all()``
before any other import), as gevent asks: the handler's ``time.sleep``, sockets and
locks then switch greenlets instead of blocking. gevent's server spawns a greenlet per
connection without a cap, so ``workers`` has no meaning here and the model runs once.
(gunicorn's gevent worker, ``gunicorn-gevent``, is the prefork form.)
"""

from __future__ import annotations

import socket
from typing import ClassVar

from suite.servers._external import CommandServer

BOOT = "from gevent import monkey; monkey.patch_all(); from suite.servers._gevent_serve import main; main()"


class GeventServer(CommandServer):
    name = "gevent"
    summary = "gevent.pywsgi over a patched standard library: one process, a greenlet per connection"
    order = 46
    family = "event loops"
    fixed_workers = 1
    packages: ClassVar[tuple[str, ...]] = ("gevent",)

    def concurrency(self) -> int:
        return 100

    def command(self, listener: socket.socket) -> list[str]:
        return ["-c", BOOT, str(listener.fileno())]


SERVERS = [GeventServer]
