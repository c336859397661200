"""A throwaway PostgreSQL cluster for the ``db`` kind, in a process of its own, loopback only.

``python -m suite.harness.pgbackend`` finds PostgreSQL's server binaries (``pg_config
--bindir``, else the newest ``/usr/lib/postgresql/*/bin``), makes a cluster in a new
temporary folder (``initdb -A trust``; as the ``postgres`` user when run as root, since
``initdb`` refuses root), runs ``postgres`` in the foreground on a free port of
127.0.0.1 with ``fsync=off`` (a benchmark's data is thrown away; commits then cost what
the server does, not what the disk does) and prints one JSON line, ``{"dsn": ...,
"pid": ..., "version": ...}``, once it accepts connections. On SIGTERM (or its parent's
death) it stops the server with a fast shutdown and removes the folder: nothing is left.

:func:`find_binaries` says why no cluster can start, for the kind's unavailability and
for tests that skip without PostgreSQL.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

#: Connections the cluster allows: a case of 64 processes with 64 connections each is
#: more than any scenario asks; 64 workers of any model plus the harness are not.
MAX_CONNECTIONS = 400
READY_TIMEOUT_S = 30.0
USER = "suite"


def find_binaries() -> tuple[Path | None, str]:
    """PostgreSQL's server binaries folder, or ``None`` and why not."""
    candidates: list[Path] = []
    config = shutil.which("pg_config")
    if config:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            found = subprocess.run([config, "--bindir"], capture_output=True, text=True, timeout=10)
            candidates.append(Path(found.stdout.strip()))
    versions = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name or 0), reverse=True
    )
    candidates += [Path(p) for p in versions]
    for folder in candidates:
        if (folder / "initdb").exists() and (folder / "postgres").exists():
            return folder, ""
    return None, (
        "PostgreSQL's server binaries (initdb, postgres) were not found (pg_config --bindir, "
        "/usr/lib/postgresql/*/bin): install PostgreSQL (apt-get install postgresql), "
        "or give a server with --postgres DSN"
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_owner() -> dict[str, Any]:
    """Popen's arguments that run a program as the ``postgres`` user when this process is
    root (initdb refuses root). No ``runuser`` in between: the server's pid is the
    server's, and a signal to it reaches PostgreSQL itself."""
    if os.geteuid() != 0:
        return {}
    return {
        "user": "postgres",
        "group": "postgres",
        "extra_groups": [],
        "env": {**os.environ, "HOME": "/tmp"},
    }


def _accepts(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
        return True
    return False


def main() -> int:
    from suite.harness.procgroup import die_with_parent

    if not die_with_parent(signal.SIGTERM):
        return 1
    bindir, why = find_binaries()
    if bindir is None:
        print(why, file=sys.stderr)
        return 2
    # /tmp, not a 0700 folder: the postgres user must reach the cluster.
    folder = Path(tempfile.mkdtemp(prefix="suite-pg-", dir="/tmp"))
    server: subprocess.Popen[bytes] | None = None
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True
        if server is not None and server.poll() is None:
            server.send_signal(signal.SIGINT)  # PostgreSQL's fast shutdown

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        folder.chmod(0o755)
        data = folder / "data"
        if os.geteuid() == 0:
            shutil.chown(folder, "postgres", "postgres")
        made = subprocess.run(
            [str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", USER, "-E", "UTF8"],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=folder,
            **_as_owner(),
        )
        if made.returncode != 0:
            print(f"initdb failed: {made.stderr.strip()[-800:]}", file=sys.stderr)
            return 3
        port = free_port()
        settings = {
            "listen_addresses": "127.0.0.1",
            "port": str(port),
            "unix_socket_directories": str(folder),
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "max_connections": str(MAX_CONNECTIONS),
        }
        options = [arg for key, value in settings.items() for arg in ("-c", f"{key}={value}")]
        with open(folder / "server.log", "wb") as log:
            server = subprocess.Popen(
                [str(bindir / "postgres"), "-D", str(data), *options],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=folder,
                **_as_owner(),
            )
        deadline = time.monotonic() + READY_TIMEOUT_S
        while not _accepts(port):
            if server.poll() is not None or time.monotonic() > deadline or stopping:
                tail = (folder / "server.log").read_text(errors="replace")[-800:]
                print(f"postgres did not start: {tail}", file=sys.stderr)
                return 4
            time.sleep(0.05)
        version = subprocess.run(
            [str(bindir / "postgres"), "--version"], capture_output=True, text=True, timeout=10
        ).stdout.strip()
        print(
            json.dumps(
                {
                    "dsn": f"postgresql://{USER}@127.0.0.1:{port}/postgres",
                    "pid": server.pid,
                    "folder": str(folder),
                    "version": version,
                }
            ),
            flush=True,
        )
        server.wait()
        return 0 if stopping else 5
    finally:
        if server is not None and server.poll() is None:
            server.send_signal(signal.SIGINT)
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
