"""The parent side of a case: start a worker process, read its report, never hang on it.

The worker runs in a session of its own, so the worker, its threads and every pool
process it started can be stopped together by signalling the process group.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any

from suite.errors import CaseFailed, ModelUnavailable
from suite.harness import environment, executables, procgroup, protocol, resources, zygote
from suite.harness.procgroup import stop_group
from suite.spec.cases import Case

#: A worker process: forked by a zygote, or started from scratch.
Worker = subprocess.Popen[bytes] | zygote.Forked
#: Longest wait for a worker to import, build its pool and report ready.
STARTUP_TIMEOUT_S = 120.0
#: Time past ``timeout_s`` a round may take before the worker is killed.
GRACE_S = 2.0
#: How often the parent samples the worker tree's memory during measured rounds.
SAMPLE_EVERY_S = 0.1
#: How long a worker that reported "done" may take to exit by itself.
EXIT_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class CaseResult:
    """What a worker measured for one case."""

    case: Case
    durations_s: tuple[float, ...]
    warmup_s: tuple[float, ...]
    checksum: str
    startup_s: float
    start_method: str | None
    env: dict[str, Any] = field(default_factory=dict)
    #: The worker's closing summary: task_ms, queue_ms, errors, ok_per_round, counters, uss_bytes.
    summary: dict[str, Any] = field(default_factory=dict)
    #: Highest resident memory of the worker's process tree seen during measured rounds.
    peak_rss_bytes: int = 0
    rss_samples: int = 0
    #: The interleaved group the case was measured in (its shuffle seed), if any, and
    #: the cycle of each measured round: rounds of one cycle ran side by side.
    group: int | None = None
    cycles: tuple[int, ...] = ()

    @property
    def errors(self) -> dict[str, int]:
        return dict(self.summary.get("errors") or {})

    @property
    def status(self) -> str:
        """``ok``, or ``degraded`` when any measured task failed (the round still finished)."""
        return "degraded" if self.errors else "ok"


def job_json(
    case: Case, endpoint: dict[str, Any] | None = None, scratch: str | None = None, paced: bool = False
) -> str:
    """What a worker reads on its first line of stdin: the case, where its backend listens,
    a folder of its own (removed after the case, also when the worker was killed), and
    whether the parent paces its rounds."""
    job = {"case": dataclasses.asdict(case), "endpoint": endpoint, "scratch": scratch, "paced": paced}
    return json.dumps(job)


#: What native thread pools read when they start: OpenMP, OpenBLAS, MKL, BLIS, Accelerate,
#: numexpr. Set for the worker, every process it starts inherits them, so a library a task
#: loads later in a pool process or Dask worker starts its pool at this size.
NATIVE_ENV = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)


def native_env(case: Case) -> dict[str, str]:
    """The environment that limits the case's native thread pools (``native_threads``)."""
    limit = case.native_limit(environment.usable_cpus())
    return {} if limit is None else dict.fromkeys(NATIVE_ENV, str(limit))


def start_worker(python: str, extra_env: dict[str, str], stderr: IO[bytes], lineage: str = "") -> Worker:
    """A new worker process under ``python``, its stdin and stdout pipes to this one;
    ``lineage``: forked from a zygote of its own (see :func:`start_program`)."""
    return start_program(python, "suite.harness.worker", [], extra_env, None, stderr, lineage)


def start_program(
    python: str,
    module: str,
    argv: list[str],
    extra_env: dict[str, str],
    stdout: IO[bytes] | None,
    stderr: IO[bytes],
    lineage: str = "",
) -> Worker:
    """``python -m module argv`` in a session of its own: forked by the interpreter's
    zygote (the suite already imported), else started from scratch. Its stdin is a pipe
    from this process; so is its stdout unless ``stdout`` (a file) is given.

    Forked workers share their zygote's hash seed and memory layout; a ``lineage`` of
    their own gives them a zygote of their own (an A/B comparison spreads each case over
    several pairs of worker processes precisely to average those out, and gives each side
    and pair a lineage). ``SUITE_ZYGOTE=0`` starts every one from scratch."""
    base = procgroup.child_env(executables.worker_env(python))
    env = {**base, **extra_env}
    forks = zygote.enabled() and module in zygote.PROGRAMS
    found = zygote.for_python(python, base, module, lineage) if forks else None
    if found is not None:
        stdin_r, stdin_w = os.pipe()
        stdout_r, stdout_w = os.pipe() if stdout is None else (-1, stdout.fileno())
        try:
            forked = found.fork(module, argv, env, stdin_r, stdout_w, stderr.fileno())
        finally:
            os.close(stdin_r)
            if stdout is None:
                os.close(stdout_w)
        if forked is not None:
            forked.stdin = os.fdopen(stdin_w, "wb")
            forked.stdout = os.fdopen(stdout_r, "rb") if stdout is None else None
            return forked
        os.close(stdin_w)
        if stdout is None:
            os.close(stdout_r)
    return subprocess.Popen(
        [python, "-m", module, *argv],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE if stdout is None else stdout,
        stderr=stderr,
        env=env,
        start_new_session=True,
    )


class LineReader:
    """Reads protocol lines from the worker's stdout with a deadline per message."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._fd = stream.fileno()
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._fd, selectors.EVENT_READ)
        self._buffer = b""
        self._eof = False

    def next(self, timeout_s: float, on_idle: Callable[[], None] | None = None) -> dict[str, Any] | None:
        """The next message, ``None`` at end of stream; :class:`TimeoutError` past the deadline.

        ``on_idle`` is called every :data:`SAMPLE_EVERY_S` while waiting.
        """
        deadline = time.monotonic() + timeout_s
        while b"\n" not in self._buffer:
            if self._eof:
                return None
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            if on_idle is not None:
                on_idle()
            if not self._selector.select(min(left, SAMPLE_EVERY_S) if on_idle else left):
                continue
            chunk = os.read(self._fd, 65536)
            self._eof = not chunk
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        message: dict[str, Any] = json.loads(line)
        return message

    def close(self) -> None:
        self._selector.close()


def stderr_tail(stderr: IO[bytes], limit: int = 4000) -> str:
    stderr.seek(0, os.SEEK_END)
    size = stderr.tell()
    stderr.seek(max(0, size - limit))
    return stderr.read().decode("utf-8", "replace").strip()


def exit_reason(returncode: int | None) -> str:
    if returncode is None:
        return "still running"
    if returncode < 0:
        return f"killed by signal {signal.Signals(-returncode).name}"
    return f"exit code {returncode}"


class Session:
    """One worker process for one case, from launch to a :class:`CaseResult`.

    :meth:`run` measures every round at once. Interleaved rounds call :meth:`start`,
    then :meth:`next_round` once per cycle, then :meth:`finish`: the worker is paced and
    runs each round only when told.
    """

    def __init__(
        self,
        case: Case,
        python: str,
        on_event: Callable[[dict[str, Any]], None] | None,
        endpoint: dict[str, Any] | None,
        paced: bool = False,
        group: int | None = None,
        lineage: str = "",
    ) -> None:
        self.case, self.on_event, self.python, self.paced, self.group = case, on_event, python, paced, group
        self.stderr = tempfile.TemporaryFile()  # noqa: SIM115 (closed in close())
        self.proc = start_worker(python, native_env(case), self.stderr, lineage=lineage)
        assert self.proc.stdin is not None
        assert self.proc.stdout is not None
        self.reader = LineReader(self.proc.stdout)
        self.scratch = tempfile.mkdtemp(prefix="suite-case-")
        self.rounds: list[dict[str, Any]] = []
        self._stop_sent = False
        self._tell(job_json(case, endpoint, self.scratch, paced))
        if not paced:
            self.proc.stdin.close()

    def _tell(self, line: str) -> None:
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(line.encode() + b"\n")
            self.proc.stdin.flush()
        except OSError:
            pass  # the worker is gone: the next message it does not send says how

    def expect(
        self, timeout_s: float, what: str, on_idle: Callable[[], None] | None = None
    ) -> dict[str, Any]:
        try:
            message = self.reader.next(timeout_s, on_idle)
        except TimeoutError:
            raise CaseFailed(
                f"timed out after {timeout_s:g} s waiting for {what}", status="timeout"
            ) from None
        if message is None:
            self.proc.wait(timeout=5)
            detail = stderr_tail(self.stderr)
            missing = re.search(r"ModuleNotFoundError: [^)\n]*", detail)
            if missing and what == "the worker to start":
                raise CaseFailed(
                    f"{self.python} cannot run the suite's worker ({missing.group(0)}): install this project "
                    "and its dependencies for that interpreter",
                    detail=detail,
                )
            raise CaseFailed(
                f"worker died ({exit_reason(self.proc.returncode)}) while waiting for {what}", detail=detail
            )
        if self.on_event is not None:
            self.on_event(message)
        if message["event"] == protocol.ERROR:
            reason = message.get("reason") or f"{message['type']}: {message['message']}"
            if message.get("fields"):  # lost updates: the tasks ran, their result is wrong
                raise CaseFailed(reason, status="incorrect", fields=message["fields"])
            raise CaseFailed(reason, detail=message["traceback"])
        if message["event"] == protocol.UNAVAILABLE:
            raise ModelUnavailable(message["reason"])
        return message

    def start(self) -> None:
        """Wait until the worker has built its pool (loop, cluster) and is ready."""
        case = self.case
        self.hello = self.expect(STARTUP_TIMEOUT_S, "the worker to start")
        self.ready = self.expect(STARTUP_TIMEOUT_S, f"{case.model} to start {case.workers} workers")
        # Peak memory is sampled from here, so no sampling thread competes in the worker.
        self.sampler = resources.PeakSampler(self.hello["pid"])

    def next_round(self, cycle: int | None = None) -> dict[str, Any]:
        """Run (paced) or wait for the next round; ``cycle`` only names it in errors."""
        index = len(self.rounds)
        if self.paced:
            self._tell(protocol.GO)
        where = f"round {index}" + (f" (cycle {cycle})" if cycle is not None and cycle != index else "")
        message = self.expect(
            self.case.timeout_s + GRACE_S,
            f"{where} (timeout_s={self.case.timeout_s:g})",
            self.sampler.sample if index >= self.case.warmup else None,
        )
        # The interleaved group's cycle this round ran in: rounds of one cycle ran side by side.
        message["cycle"] = index if cycle is None else cycle
        self.rounds.append(message)
        return message

    def ask_to_stop(self) -> None:
        """Tell a paced worker its rounds are over, so that it shuts its pool down while
        the parent still waits on others (:meth:`finish` reads its report)."""
        if self.paced and not self._stop_sent:
            self._tell(protocol.STOP)
            self._stop_sent = True

    def finish(self) -> CaseResult:
        """The worker's closing report, after its last round."""
        self.ask_to_stop()
        done = self.expect(STARTUP_TIMEOUT_S, "the worker to shut its pool down")
        measured = [r for r in self.rounds if not r["warmup"]]
        return CaseResult(
            case=self.case,
            durations_s=tuple(r["duration_s"] for r in measured),
            warmup_s=tuple(r["duration_s"] for r in self.rounds if r["warmup"]),
            checksum=self.rounds[-1]["checksum"],
            startup_s=self.ready["startup_s"],
            start_method=self.ready["start_method"],
            # The GIL state when the rounds were over: an import may have turned it back on.
            env={
                **self.hello["env"],
                "gil_enabled": done.get("gil_enabled", self.hello["env"]["gil_enabled"]),
            },
            summary={k: v for k, v in done.items() if k not in ("event", "gil_enabled")},
            peak_rss_bytes=max(self.sampler.peak, done.get("rss_end_bytes") or 0),
            rss_samples=self.sampler.samples,
            group=self.group,
            cycles=tuple(r["cycle"] for r in measured) if self.paced else (),
        )

    def pin(self, cpu: int) -> bool:
        """Hold the worker and everything it started on CPU ``cpu`` (after :meth:`start`)."""
        return procgroup.pin(self.proc.pid, cpu)

    def run(self) -> CaseResult:
        self.start()
        for _ in range(self.case.warmup + self.case.rounds):
            self.next_round()
        return self.finish()

    def close(self, finished: bool) -> None:
        try:
            if finished:
                # It said "done": give it time to exit by itself before anything is signalled.
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.proc.wait(timeout=EXIT_TIMEOUT_S)
            stop_group(self.proc)
            self.reader.close()
            assert self.proc.stdout is not None
            self.proc.stdout.close()
            if self.proc.stdin is not None and not self.proc.stdin.closed:  # a paced worker's
                with contextlib.suppress(OSError):
                    self.proc.stdin.close()
            self.stderr.close()
        finally:  # a second Ctrl-C while stopping must not leave the folder behind
            shutil.rmtree(self.scratch, ignore_errors=True)


def run_case(
    case: Case,
    python: str = sys.executable,
    on_event: Callable[[dict[str, Any]], None] | None = None,
    endpoint: dict[str, Any] | None = None,
) -> CaseResult:
    """Measure ``case`` in a new worker process running ``python``.

    ``endpoint`` is what the case's backend reported when it came up (see
    :mod:`suite.harness.backend`); the worker hands it to the workload.

    :raises CaseFailed: the worker raised, died, or missed a deadline; it is stopped
    :raises ModelUnavailable: the model cannot run under ``python``
    """
    session = Session(case, python, on_event, endpoint)
    finished = False
    try:
        result = session.run()
        finished = True
        return result
    finally:
        session.close(finished)
