"""``gevent.pywsgi`` serving the WSGI app: the body of the ``gevent`` server model's process.

Run as ``python -c "from gevent import monkey; monkey.patch_all(); ..."`` so the
standard library is patched before anything else imports it (see
:mod:`suite.servers.gevent_server`). Arguments: the listening socket's descriptor.
"""

from __future__ import annotations

import signal
import socket
import sys


def main() -> None:
    import gevent
    from gevent.pywsgi import WSGIServer

    from suite.servers.apps import wsgi

    listener = socket.socket(fileno=int(sys.argv[1]))
    app = wsgi()
    app.prepare()
    server = WSGIServer(listener, app, log=None)
    gevent.signal_handler(signal.SIGTERM, server.stop, 1)
    server.serve_forever()
