"""A pre-imported worker per interpreter, forked afresh for each case.

Starting a worker costs most of half a second before it measures anything: the
interpreter starts and imports the suite, pydantic and every model and workload module.
A zygote does that once per interpreter and then forks one clean child per case. The
child is still a fresh process of its own (its own session, its own pool, loop and
native threads, started after the fork; nothing measured ever ran in the zygote), so
start-up stays measured alone and outside the rounds, as before.

The zygote forks only while it is single-threaded: an import that started a thread would
make a fork unsafe, and the zygote then refuses (the launcher starts the worker the
ordinary way). Interpreter-wide settings read at start-up (``PYTHONHASHSEED``,
``PYTHON_GIL``, ``-X`` options) are the zygote's; per-case variables (the native thread
limits) are read by the libraries after the fork, in the child.

Protocol on a Unix socket: the launcher sends one JSON request per case with the case's
stdin, stdout and stderr descriptors attached; the zygote answers ``{"pid": N}`` and
later ``{"exit": N, "code": C}`` when the child ends, with the exit code as
:attr:`subprocess.Popen.returncode` gives it (negative: killed by a signal).
"""

from __future__ import annotations

import atexit
import contextlib
import errno
import importlib
import json
import os
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time
from typing import IO, Any

#: The programs a zygote forks, and whether each needs its memory as if started from
#: scratch (the worker's memory is a measured figure; the load generator's is not).
PROGRAMS = {"suite.harness.worker": True, "suite.harness.loadgen": False}
#: The most a request or reply takes (JSON of an environment).
MESSAGE_BYTES = 1 << 20
#: Waiting for the zygote to import everything and say it is ready.
READY_TIMEOUT_S = 60.0


def _threads() -> int:
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return threading.active_count()


#: ``madvise`` advice that faults pages in, readable or writable (Linux 5.14).
MADV_POPULATE_READ, MADV_POPULATE_WRITE = 22, 23
#: A page-table entry of ``/proc/self/pagemap`` says the page is in memory.
PRESENT = 1 << 63
#: ``(address, length)`` of runs of pages.
Runs = list[tuple[int, int]]


def present_runs(private: bool) -> Runs:
    """``(address, length)`` of each run of pages this process has in memory: in its
    private writable mappings (``private``), else in its read-only file mappings (code)."""
    page = os.sysconf("SC_PAGE_SIZE")
    with open("/proc/self/maps") as maps:
        fields = [line.split() for line in maps]
    if private:
        regions = [f[0] for f in fields if f[1] == "rw-p"]
    else:
        regions = [f[0] for f in fields if f[1] in ("r--p", "r-xp") and f[4] != "0"]
    runs: Runs = []
    pagemap = os.open("/proc/self/pagemap", os.O_RDONLY)
    try:
        for region in regions:
            start, end = (int(x, 16) for x in region.split("-"))
            try:
                table = os.pread(pagemap, (end - start) // page * 8, start // page * 8)
            except OSError:
                continue
            entries, run = memoryview(table).cast("Q"), None
            for index in range(len(entries) + 1):
                present = index < len(entries) and entries[index] & PRESENT
                if present and run is None:
                    run = index
                elif not present and run is not None:
                    runs.append((start + run * page, (index - run) * page))
                    run = None
    finally:
        os.close(pagemap)
    return runs


def own_copies(code_runs: Runs) -> bool:
    """Make this freshly forked child hold its memory as a worker started from scratch does.

    Pages shared with the zygote would count half (or less, with several children alive)
    in the case's PSS, where a worker started from scratch holds them alone; and the code
    the imports ran, which the zygote has in memory, would be missing from the child's
    page tables. Each of the zygote's private pages is faulted in writable (the child gets
    its own copy, not a byte changed) and each page of code it ran is mapped, so the
    memory figures read as before; pages the imports never touched stay untouched.
    Returns ``False`` where the kernel cannot do it (before Linux 5.14).
    """
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        private = present_runs(private=True)
    except (OSError, AttributeError):
        return False
    for runs, advice in ((private, MADV_POPULATE_WRITE), (code_runs, MADV_POPULATE_READ)):
        for address, length in runs:
            failed = libc.madvise(ctypes.c_void_p(address), ctypes.c_size_t(length), advice)
            if failed and ctypes.get_errno() == errno.EINVAL:
                return False
    return True


def _child(
    request: dict[str, Any],
    fds: list[int],
    control: socket.socket,
    wake: int,
    code_runs: list[tuple[int, int]],
) -> None:
    """In the forked child: become the case's worker (never returns)."""
    code = 1
    try:
        control.close()
        os.close(wake)
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        os.setsid()
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
            os.close(fd)
        os.environ.clear()
        os.environ.update(request["env"])
        module, argv = request["module"], request["argv"]
        if PROGRAMS[module]:
            own_copies(code_runs)
        sys.argv = [module, *argv]
        program = importlib.import_module(module)
        code = program.main(argv) if argv else program.main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def _send(control: socket.socket, message: dict[str, Any]) -> None:
    control.sendall(json.dumps(message).encode() + b"\n")


def serve(module: str) -> int:
    """The zygote's own program: import ``module`` (and, for the worker, every model and
    workload kind it may be asked for), then fork a child running it per request. A
    worker's zygote imports nothing a worker started from scratch would not."""
    from suite.harness import procgroup

    importlib.import_module(module)
    if not procgroup.die_with_parent(signal.SIGTERM):
        return 1
    if module == "suite.harness.worker":
        from suite.spec import registry

        registry.runners()
        registry.workloads()
    control = socket.socket(fileno=int(os.environ.pop("SUITE_ZYGOTE_FD")))
    if _threads() != 1:
        _send(control, {"refused": f"{_threads()} threads after importing the suite: a fork is not safe"})
        return 0
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    code_runs = present_runs(private=False)  # the code the imports ran, for every child to map
    _send(control, {"ready": os.getpid()})
    selector = selectors.DefaultSelector()
    selector.register(control, selectors.EVENT_READ)
    selector.register(wake_r, selectors.EVENT_READ)
    children: set[int] = set()
    while True:
        for key, _ in selector.select():
            if key.fileobj is control:
                message, fds, _flags, _addr = socket.recv_fds(control, MESSAGE_BYTES, 3)
                if not message:
                    return 0  # the suite is done with this interpreter
                request = json.loads(message)
                pid = os.fork()
                if pid == 0:
                    _child(request, fds, control, wake_r, code_runs)
                for fd in fds:
                    os.close(fd)
                children.add(pid)
                _send(control, {"pid": pid})
            else:
                with contextlib.suppress(BlockingIOError):
                    os.read(wake_r, 512)
        for pid in list(children):  # reap whoever ended, and say how
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                children.discard(pid)
                _send(control, {"exit": pid, "code": os.waitstatus_to_exitcode(status)})


class Zygote:
    """The launcher's side: one zygote process under one interpreter."""

    def __init__(self, python: str, env: dict[str, str], module: str = "suite.harness.worker") -> None:
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self.python, self.module = python, module
        self.refused: str | None = None
        self._lock = threading.Lock()
        self._exits: dict[int, int] = {}
        #: Children forked and not yet reported ended.
        self.running: set[int] = set()
        self._buffer = b""
        self._socket = parent
        self.proc = subprocess.Popen(
            [python, "-m", "suite.harness.zygote", module],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**env, "SUITE_ZYGOTE_FD": str(child.fileno())},
            pass_fds=(child.fileno(),),
            start_new_session=True,
        )
        child.close()
        try:
            hello = self._next(READY_TIMEOUT_S)
        except EOFError:
            hello = None
        if hello is None or "ready" not in hello:
            self.refused = (hello or {}).get("refused") or "the zygote did not start"
            self.close()

    def _next(self, timeout_s: float | None) -> dict[str, Any] | None:
        """The zygote's next message, or ``None`` after ``timeout_s``.

        :raises EOFError: the zygote is gone
        """
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while b"\n" not in self._buffer:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                self._socket.settimeout(left)
                chunk = self._socket.recv(MESSAGE_BYTES)
            except (TimeoutError, BlockingIOError):
                return None
            except OSError:
                chunk = b""
            if not chunk:
                raise EOFError
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        message: dict[str, Any] = json.loads(line)
        if "exit" in message:
            self._exits[int(message["exit"])] = int(message["code"])
            self.running.discard(int(message["exit"]))
        return message

    @property
    def alive(self) -> bool:
        return self.refused is None and self.proc.poll() is None

    def fork(
        self, module: str, argv: list[str], env: dict[str, str], stdin: int, stdout: int, stderr: int
    ) -> Forked | None:
        """A child running ``module``'s ``main`` with these descriptors; ``None`` if the
        zygote cannot make one (``module`` is not one it forks)."""
        if module != self.module:
            return None
        with self._lock:
            if not self.alive:
                return None
            env = {**env, "SUITE_PARENT_PID": str(self.proc.pid)}
            try:
                self._socket.settimeout(None)
                request = {"module": module, "argv": argv, "env": env}
                socket.send_fds(self._socket, [json.dumps(request).encode()], [stdin, stdout, stderr])
            except OSError:
                return None
            while True:
                try:
                    message = self._next(READY_TIMEOUT_S)
                except EOFError:
                    return None
                if message is None:
                    return None
                if "pid" in message:
                    self.running.add(int(message["pid"]))
                    return Forked(self, int(message["pid"]))

    def exit_code(self, pid: int, timeout_s: float | None) -> int | None:
        """The child's exit code once the zygote has reaped it, waiting up to ``timeout_s``."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        with self._lock:
            while pid not in self._exits:
                left = None if deadline is None else max(0.0, deadline - time.monotonic())
                try:
                    message = self._next(left)
                except EOFError:
                    # The zygote is gone: its children were re-parented and signalled.
                    return self._exits.setdefault(pid, -signal.SIGTERM)
                if message is None and pid not in self._exits:
                    return None
            return self._exits[pid]

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._socket.close()
        with contextlib.suppress(OSError, subprocess.TimeoutExpired):
            self.proc.wait(timeout=5)
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


class Forked:
    """A worker the zygote forked, with what the launcher uses of :class:`subprocess.Popen`."""

    def __init__(self, zygote: Zygote, pid: int) -> None:
        self.zygote, self.pid = zygote, pid
        self.returncode: int | None = None
        self.stdin: IO[bytes] | None = None
        self.stdout: IO[bytes] | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            self.returncode = self.zygote.exit_code(self.pid, 0)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            self.returncode = self.zygote.exit_code(self.pid, timeout)
        if self.returncode is None:
            raise subprocess.TimeoutExpired(str(self.pid), timeout or 0)
        return self.returncode


_zygotes: dict[tuple[str, str, str, str], Zygote] = {}
#: Zygotes kept at once: one per program, interpreter and environment, the least recently
#: used stopped once its children have ended.
MAX_ZYGOTES = 6
#: Variables set anew for every case that a zygote started earlier serves as well (pytest
#: names the running test in ``PYTEST_CURRENT_TEST``).
VOLATILE_ENV = frozenset({"PYTEST_CURRENT_TEST"})
#: Set to ``0`` to start every worker from scratch (to check that the zygote moves no figure).
SWITCH_ENV = "SUITE_ZYGOTE"


def enabled() -> bool:
    return os.environ.get(SWITCH_ENV, "1") != "0" and hasattr(socket, "send_fds") and hasattr(os, "fork")


def for_python(
    python: str, env: dict[str, str], module: str = "suite.harness.worker", lineage: str = ""
) -> Zygote | None:
    """The zygote of ``module`` under ``python`` and ``env`` (started at its first case),
    or ``None`` if it cannot fork. Variables that change from case to case without bearing on the
    interpreter (:data:`VOLATILE_ENV`) do not make another: each child gets its case's
    whole environment after the fork anyway. Each ``lineage`` has a zygote of its own, so
    its own hash seed and memory layout (``suite ab``: one per side and pair of processes)."""
    kept = {name: value for name, value in env.items() if name not in VOLATILE_ENV}
    key = (python, module, json.dumps(kept, sort_keys=True), lineage)
    found = _zygotes.pop(key, None)
    if found is None or (not found.alive and found.refused is None):
        found = Zygote(python, env, module)
    _zygotes[key] = found  # the most recently used last
    idle = [k for k, z in _zygotes.items() if k != key and not z.running]
    for old in idle[: max(0, len(_zygotes) - MAX_ZYGOTES)]:
        _zygotes.pop(old).close()  # its workers have all ended
    return found if found.alive else None


def pids() -> set[int]:
    """The zygotes this process started that still run (they outlive the cases they fork)."""
    return {z.proc.pid for z in _zygotes.values() if z.proc.poll() is None}


@atexit.register
def close_all() -> None:
    """Stop every zygote (at the end of the run)."""
    while _zygotes:
        _zygotes.popitem()[1].close()


if __name__ == "__main__":
    sys.exit(serve(sys.argv[1]))
