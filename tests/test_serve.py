"""Serve mode: every server model answers the same requests with the same values; the
generator's two loads; the scenario keys. Async tests run under asyncio and uvloop
(``pytest_asyncio_loop_factories`` in conftest)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import re
import socket
import time
from pathlib import Path

import psutil
import pytest

from suite.errors import CaseFailed, ScenarioError
from suite.harness import zygote
from suite.harness.loadgen import (
    MAX_SAMPLES,
    Generator,
    LoadJob,
    LoadReport,
    percentile,
    schedule,
    summary_ms,
)
from suite.harness.serve_case import ServeResult, record, run_serve_case
from suite.harness.serve_worker import listener
from suite.servers._async import AsyncServing
from suite.spec import registry
from suite.spec.cases import Case, build
from suite.spec.scenario import load
from suite.workloads import Workload

# The fast lane (-m 'not slow') leaves this module out: every test starts a server model and loads it.
pytestmark = pytest.mark.slow


def workload(kind: str = "sleep", **params: object) -> Workload:
    cls = registry.workload(kind)
    defaults: dict[str, object] = {"tasks": 16, "latency_ms": 2.0} if kind == "sleep" else {}
    return cls(cls.Params.model_validate({**defaults, **params}))


def job(port: int, **fields: object) -> LoadJob:
    base: dict[str, object] = {
        "host": "127.0.0.1",
        "port": port,
        "mode": "closed",
        "connections": 4,
        "duration_s": 0.4,
        "warmup_s": 0.1,
        "rate_rps": 200.0,
        "tasks": 16,
        "timeout_s": 2.0,
    }
    return LoadJob(**{**base, **fields})  # type: ignore[arg-type]


async def serve_and_load(
    load: LoadJob, limit: int = 8, fanout: int = 1, **params: object
) -> tuple[LoadReport, int]:
    """An async server and the generator on the running loop (in tests only: real runs
    keep them in separate processes)."""
    sock = listener()
    port = sock.getsockname()[1]
    stopped = asyncio.Event()
    listening = asyncio.Event()
    work = workload(**params)
    await work.prepare_async(limit)
    serving = asyncio.ensure_future(AsyncServing(work, fanout, limit).serve(sock, stopped, listening.set))
    await listening.wait()
    load.port = port
    try:
        report = await Generator(load).run()
    finally:
        stopped.set()
        await serving
        sock.close()
    return report, port


@pytest.mark.asyncio
async def test_closed_load_keeps_its_connections_busy() -> None:
    report, _ = await serve_and_load(job(0, connections=4))
    assert report.errors == {}
    # 4 connections, ~2 ms a request: far more than 4 requests in 0.4 s, each after the last.
    assert report.ok > 100
    assert report.latency_ms["p50"] >= 2.0
    assert report.checksum is not None
    assert report.offered_rps is None


@pytest.mark.asyncio
async def test_open_load_sends_at_its_rate_and_says_how_late() -> None:
    report, _ = await serve_and_load(job(0, mode="open", rate_rps=200.0, arrival="constant"))
    assert report.sent == 80  # 200/s for 0.4 s
    assert report.ok == 80
    assert report.achieved_rps == pytest.approx(200, rel=0.15)
    assert report.lag_ms["p99"] < 50
    assert report.offered_rps == 200


@pytest.mark.asyncio
async def test_open_load_counts_latency_from_the_schedule_not_from_the_send() -> None:
    # One connection, requests of ~20 ms at 100/s: each must wait for the one before, so
    # latency from the schedule grows; from the send it would stay at ~20 ms.
    load = job(0, mode="open", rate_rps=100.0, arrival="constant", connections=1, duration_s=0.5)
    report, _ = await serve_and_load(load, latency_ms=20.0)
    assert report.latency_ms["p50"] > 40
    assert report.latency_ms["max"] > report.latency_ms["p50"]


@pytest.mark.asyncio
async def test_a_server_that_is_gone_gives_connection_errors() -> None:
    sock = listener()
    port = sock.getsockname()[1]
    sock.close()
    report = await Generator(job(port, mode="open", rate_rps=100.0)).run()
    assert report.ok == 0
    assert report.errors.get("connection", 0) == report.sent > 0


@pytest.mark.asyncio
async def test_fanout_runs_every_backend_call_of_a_request_at_once() -> None:
    # 5 calls of 20 ms each: gathered, a request takes ~20 ms, not ~100 ms.
    report, _ = await serve_and_load(job(0, connections=1, duration_s=0.3), fanout=5, latency_ms=20.0)
    assert 15 < report.latency_ms["p50"] < 60


def test_poisson_schedule_keeps_its_rate_and_is_repeatable() -> None:
    load = job(0, mode="open", rate_rps=1000.0, arrival="poisson", duration_s=4.0, warmup_s=0.0, seed=3)
    offsets = schedule(load)
    assert 3700 < len(offsets) < 4300
    assert offsets == schedule(load)
    gaps = [b - a for a, b in itertools.pairwise(offsets)]
    assert min(gaps) < 0.0001 < 0.003 < max(gaps)  # exponential gaps, not even ones


def test_percentiles_are_exact_nearest_rank() -> None:
    values = [i / 1000 for i in range(1, 1001)]
    assert percentile(values, 0.99) == 0.99
    assert percentile(values, 0.999) == 0.999
    s = summary_ms(values)
    assert s["p50"] == pytest.approx(500)
    assert s["max"] == pytest.approx(1000)


# Every server model, for real: its own threads and processes, the generator in-process.

SERVERS = list(registry.servers())


def _serve_with(
    name: str, load: LoadJob, kind: str = "sleep", workers: int = 4, **params: object
) -> LoadReport:
    from suite.harness.loadgen import generate

    cls = registry.server(name)
    server = cls(workload(kind, **params), workers)
    sock = listener(cls.listens_itself())
    load.port = sock.getsockname()[1]  # before start: a server that binds itself closes sock
    server.start(sock)
    try:
        return generate(load, "asyncio")
    finally:
        server.stop()
        sock.close()


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")  # see below
@pytest.mark.parametrize("name", SERVERS)
def test_every_server_model_answers_the_same_values(name: str) -> None:
    reports = [
        _serve_with(name, job(0, connections=4), workers=4),
        _serve_with(name, job(0, mode="open", rate_rps=150.0), workers=4),
    ]
    for report in reports:
        assert report.errors == {}, name
        assert report.ok > 40, name
    # The same 16 requests answered with the same values by every model (sleep's value
    # is its index; reference from the first model).
    expected = _serve_with("sequential", job(0, connections=1)).checksum
    assert {r.checksum for r in reports} == {expected}


#: The servers the suite does not write (gunicorn, uvicorn, aiohttp.web, waitress, gevent).
FRAMEWORKS = [name for name, cls in registry.servers().items() if cls.__module__.endswith("_server")]


def test_the_real_servers_are_found() -> None:
    assert set(FRAMEWORKS) >= {
        "aiohttp",
        "aiohttp+uvloop",
        "uvicorn",
        "uvicorn+asyncio",
        "gunicorn-sync",
        "gunicorn-sync+reuseport",
        "gunicorn-gthread",
        "gunicorn-gevent",
        "waitress",
        "gevent",
        "granian",
        "granian-asgi",
    }


# In these two tests asyncio leaves the socket of a connect cancelled at the window's end to the
# garbage collector (a ResourceWarning from its selector loop, not a socket of ours):
# sync workers behind SO_REUSEPORT queue connects behind busy processes, so some are
# still pending then. The generator runs in a process of its own in real runs.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.parametrize("name", FRAMEWORKS)
def test_a_real_server_computes_what_the_suite_computes(name: str) -> None:
    # cpu's value depends on every iteration of the task: a server that ran less work,
    # or other tasks, answers another checksum than the sequential model.
    expected = _serve_with(
        "sequential", job(0, connections=1), "cpu", workers=1, tasks=16, iterations=2000
    ).checksum
    for each in (job(0, connections=4), job(0, mode="open", rate_rps=100.0)):
        report = _serve_with(name, each, "cpu", workers=2, tasks=16, iterations=2000)
        assert report.errors == {}, name
        assert report.checksum == expected, name


def test_reuseport_servers_listen_on_a_socket_per_process() -> None:
    # The harness's socket only holds the port; each process accepts on its own.
    cls = registry.server("processes+reuseport")
    server = cls(workload(), 3)
    sock = listener(reserve_only=True)
    server.start(sock)
    try:
        port = sock.getsockname()[1]
        listening = [
            p.pid
            for p in [psutil.Process(), *psutil.Process().children(recursive=True)]
            for c in p.net_connections("tcp")
            if c.status == psutil.CONN_LISTEN and c.laddr.port == port
        ]
        assert len(listening) == 3
        assert psutil.Process().pid not in listening
    finally:
        server.stop()
        sock.close()


def test_workers_bound_the_requests_handled_at_once() -> None:
    # 20 ms waits, 16 connections: 2 threads answer ~100/s, 8 threads ~400/s.
    two = _serve_with("threads", job(0, connections=16, duration_s=0.5), workers=2, latency_ms=20.0)
    eight = _serve_with("threads", job(0, connections=16, duration_s=0.5), workers=8, latency_ms=20.0)
    assert two.achieved_rps < 130
    assert eight.achieved_rps > 2.5 * two.achieved_rps


def test_a_prefork_server_says_which_process_died() -> None:
    import os
    import signal

    server = registry.server("processes")(workload(), 2)
    sock = listener()
    server.start(sock)
    try:
        assert server.failure() is None
        victim = server._family.processes[0]
        os.kill(victim.pid, signal.SIGKILL)
        victim.join(timeout=5)
        assert server.failure() == f"server process {victim.pid} was killed by SIGKILL"
    finally:
        server.stop()
        sock.close()


def test_servers_listen_on_loopback_only() -> None:
    sock = listener()
    try:
        host, port = sock.getsockname()
        assert host == "127.0.0.1"
        assert port > 0
        assert sock.family == socket.AF_INET
        # Accepted connections inherit it: no server waits on the client's delayed ACK.
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    finally:
        sock.close()


def test_a_reserved_port_is_bound_but_not_listened_on() -> None:
    sock = listener(reserve_only=True)
    try:
        port = sock.getsockname()[1]
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT)
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
    finally:
        sock.close()


@pytest.mark.parametrize(
    ("kind", "params"),
    [("sleep", {"tasks": 1, "latency_ms": 1}), ("mixed", {"tasks": 1, "latency_ms": 1, "iterations": 1})],
)
def test_waiting_kinds_load_the_loops_sleep_while_prepared(kind: str, params: dict[str, int]) -> None:
    # anyio imports its asyncio backend at the first sleep (20 ms of CPU): in prepare,
    # not in the first request a fresh server process answers.
    import subprocess
    import sys

    code = (
        "import asyncio, sys\n"
        "from suite.spec import registry\n"
        f"cls = registry.workload({kind!r})\n"
        f"w = cls(cls.Params.model_validate({params!r}))\n"
        "before = 'anyio._backends._asyncio' in sys.modules\n"
        "asyncio.run(w.prepare_async(1))\n"
        "print(before, 'anyio._backends._asyncio' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True"]


# Scenario keys.


def write(tmp_path: Path, text: str, name: str = "serve.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


SERVE = """\
mode: serve
workload: {kind: sleep, latency_ms: 20}
models: [asyncio, threads]
workers: [8, 64]
load:
  closed: {connections: [16, 256]}
  open: {rates_rps: [200, 800], arrival: constant}
  duration_s: 2
slo: {p99_ms: 100}
"""


def test_a_serve_scenario_makes_one_case_per_model_workers_and_load_point(tmp_path: Path) -> None:
    scenario = load(write(tmp_path, SERVE))
    cases = build(scenario)
    assert len(cases) == 2 * 2 * 4
    assert [c.id for c in cases[:4]] == [
        "asyncio-w8-closed16",
        "asyncio-w8-closed256",
        "asyncio-w8-open200",
        "asyncio-w8-open800",
    ]
    assert cases[0].load == {
        "mode": "closed",
        "connections": 16,
        "label": "closed16",
        "duration_s": 2.0,
        "warmup_s": 0.5,
        "timeout_s": 10.0,
    }
    assert cases[2].load is not None
    assert cases[2].load["arrival"] == "constant"
    assert cases[0].slo_p99_ms == 100
    assert cases[0].tasks == 64  # not given: requests cycle through 64 task indexes


def test_serve_keys_are_checked_with_file_and_line(tmp_path: Path) -> None:
    bad = write(
        tmp_path,
        "mode: serve\nworkload: {kind: sleep, latency_ms: 20}\nmodels: [asyncio, trio]\n"
        "load:\n  closed: {connection: [16]}\n  duration_s: -1\nslo: {p99: 3}\n",
    )
    with pytest.raises(ScenarioError) as info:
        load(bad)
    text = str(info.value)
    assert f"{bad}:3: models[1]: unknown server model (mode: serve) 'trio'" in text
    assert (
        "load.closed.connection: unknown key; did you mean 'connections'? (valid keys: connections)" in text
    )
    assert f"{bad}:6: load.duration_s: input should be greater than 0; found -1" in text
    assert "slo.p99: unknown key; did you mean 'p99_ms'?" in text


def test_serve_keys_in_a_batch_scenario_are_refused(tmp_path: Path) -> None:
    bad = write(
        tmp_path,
        "workload: {kind: sleep, latency_ms: 20, tasks: 4}\nfanout: 3\nload: {closed: {connections: [1]}}\n",
    )
    with pytest.raises(ScenarioError) as info:
        load(bad)
    assert f"{bad}:2: fanout: `fanout` only applies with mode: serve" in str(info.value)
    assert f"{bad}:3: load: `load` only applies with mode: serve" in str(info.value)
    no_load = write(tmp_path, "mode: serve\nworkload: {kind: sleep, latency_ms: 20}\n", "noload.yaml")
    with pytest.raises(ScenarioError, match=r"noload.yaml:1: mode: mode: serve needs `load`"):
        load(no_load)


def test_a_load_point_the_descriptor_limit_cannot_hold_is_refused(tmp_path: Path) -> None:
    from suite.harness.serve_case import descriptor_problem

    case = build(load(write(tmp_path, SERVE.replace("[16, 256]", "[5000]"))))[0]
    problem = descriptor_problem(case, hard=4096)
    assert problem == (
        "load point closed5000 needs 5064 file descriptors in the generator and in the server "
        "(5000 connections + 64) but RLIMIT_NOFILE's hard limit is 4096; raise it (ulimit -Hn) "
        "or use fewer connections"
    )
    assert descriptor_problem(case, hard=8192) is None


# Faults: a server that crashes or hangs mid-window fails its case, and nothing is left.


def serve_case(model: str, fault: str | None, workers: int = 2) -> Case:
    params: dict[str, object] = {"tasks": 16, "iterations": 1000}
    if fault is not None:
        params["fault"] = {"kind": fault, "at_task": 40 % 16}
    return Case(
        scenario="serve-fault",
        model=model,
        workers=workers,
        kind="cpu",
        params=params,
        rounds=1,
        warmup=0,
        timeout_s=10,
        interleave=False,
        mode="serve",
        # No warm-up, so the fault fires inside the measured window.
        load={
            "mode": "closed",
            "connections": 4,
            "label": "closed4",
            "duration_s": 1.0,
            "warmup_s": 0.0,
            "timeout_s": 1.0,
        },
    )


def run_watched(case: Case) -> tuple[CaseFailed | ServeResult, set[int]]:
    """Run a serve case; its failure (or result) and the server tree seen while it ran."""
    import threading

    seen: set[int] = set()
    done = threading.Event()
    # Children of this test process that other tests left running (a session's servers)
    # are not the case's.
    before = {c.pid for c in psutil.Process().children(recursive=True)}

    def watch() -> None:
        me = psutil.Process()
        while not done.is_set():
            with contextlib.suppress(psutil.Error):
                seen.update(c.pid for c in me.children(recursive=True))
            time.sleep(0.05)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        outcome: CaseFailed | ServeResult = run_serve_case(case)
    except CaseFailed as exc:
        outcome = exc
    finally:
        done.set()
        watcher.join()
    return outcome, seen - before - zygote.pids()


def alive(pids: set[int]) -> set[int]:
    found = set()
    for pid in pids:
        with contextlib.suppress(psutil.NoSuchProcess):
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                found.add(pid)
    return found


@pytest.mark.parametrize("model", ["asyncio", "processes", "gunicorn-sync", "uvicorn", "gevent"])
def test_a_server_that_crashes_fails_its_case_and_leaves_nothing(model: str) -> None:
    outcome, seen = run_watched(serve_case(model, "crash"))
    assert isinstance(outcome, CaseFailed)
    if model in FRAMEWORKS:  # the server's own process, or one of its workers, is named
        died = rf"{re.escape(model)}(\'s serving process \d+ died| \(pid \d+\) was killed by SIGSEGV)"
        assert re.match(rf"{died}.* during load point closed4", outcome.reason), outcome.reason
    elif model == "processes":  # one of two processes died; the other still answered
        assert re.match(r"server process \d+ was killed by SIGSEGV during load point closed4", outcome.reason)
    else:
        assert outcome.reason == "the server died during load point closed4 (killed by signal SIGSEGV)"
    assert alive(seen) == set()


@pytest.mark.parametrize("model", ["asyncio", "sequential"])
def test_a_server_that_hangs_fails_its_case_as_a_timeout(model: str) -> None:
    outcome, seen = run_watched(serve_case(model, "hang"))
    assert isinstance(outcome, CaseFailed)
    assert outcome.status == "timeout"
    pattern = (
        r"the server stopped answering [\d.]+ s into the window: \d+ of \d+ requests timed out after 1 s"
    )
    assert re.match(pattern, outcome.reason), outcome.reason
    assert alive(seen) == set()


@pytest.mark.parametrize("model", ["threads", "waitress", "gunicorn-gthread"])
def test_a_hung_thread_leaves_the_others_serving_and_the_case_says_so(model: str) -> None:
    outcome, seen = run_watched(serve_case(model, "hang"))
    assert isinstance(outcome, ServeResult)
    assert outcome.status == "degraded"
    assert re.fullmatch(r"1 timeout of \d+ requests", outcome.reason or ""), outcome.reason
    assert alive(seen) == set()


def test_a_whole_server_case_says_what_it_measured() -> None:
    outcome, seen = run_watched(serve_case("threads", None))
    assert isinstance(outcome, ServeResult)
    assert outcome.status == "ok"
    assert outcome.report.ok > 50
    assert outcome.report.checksum is not None
    assert outcome.server_cpu_s > 0
    info = record(outcome)
    assert info.mode == "serve"
    assert info.point == "closed4"
    assert set(info.latency_ms or {}) >= {"p50", "p90", "p99", "p999", "max"}
    assert info.achieved_rps == pytest.approx(outcome.report.ok / 1.0, rel=0.15)
    assert info.saturated is False
    assert alive(seen) == set()


SERVE_RUN = """\
description: Does a thread pool keep up with one event loop?
mode: serve
workload: {kind: sleep, latency_ms: 2}
models: [asyncio, threads]
workers: [4]
load:
  closed: {connections: [4]}
  open: {rates_rps: [100]}
  duration_s: 0.4
  warmup_s: 0.1
slo: {p99_ms: 50}
"""


def test_suite_run_serves_saves_and_compares_a_serve_scenario(tmp_path: Path) -> None:
    import json

    from suite_cli import run_suite

    path = write(tmp_path, SERVE_RUN, "serve-tiny.yaml")
    done = run_suite("run", str(path), "--results", "res", "--save", "first", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "serve-tiny (serve: sleep handler)" in done.stdout
    assert "highest offered rate held within p99 <= 50 ms: " in done.stdout
    data = json.loads(next((tmp_path / "res").glob("*/0001_first.json")).read_text())
    names = [b["name"] for b in data["benchmarks"]]
    assert names == [
        "test_case[asyncio-w4-closed4]",
        "test_case[asyncio-w4-open100]",
        "test_case[threads-w4-closed4]",
        "test_case[threads-w4-open100]",
    ]
    for bench in data["benchmarks"]:
        extra = bench["extra_info"]
        assert extra["mode"] == "serve"
        # ok, or degraded only because a busy machine made the generator send late
        assert extra["status"] == "ok" or "generator fell behind" in extra["reason"], extra["reason"]
        assert extra["errors"] == {}
        assert len(bench["stats"]["data"]) == min(extra["requests_ok"], MAX_SAMPLES)
        assert extra["latency_ms"]["p50"] >= 2.0
        assert extra["server_cpu_s"] >= 0
    # The kernel counts CPU time in 10 ms ticks: a light open load may show none, the
    # closed loads (about a thousand requests each) do.
    assert all(b["extra_info"]["server_cpu_s"] > 0 for b in data["benchmarks"] if "closed" in b["name"])
    # Every model answered the same requests with the same values (a short open load may
    # not reach every one of the 64 requests, and then has no checksum).
    closed = {b["extra_info"]["checksum"] for b in data["benchmarks"] if "closed" in b["name"]}
    assert len(closed) == 1
    assert None not in closed
    assert {b["extra_info"]["checksum"] for b in data["benchmarks"]} - closed <= {None}
    compared = run_suite("compare", "first", "first", "--results", "res", cwd=tmp_path)
    assert compared.returncode == 0, compared.stderr
    assert "asyncio-w4-open100" in compared.stdout
