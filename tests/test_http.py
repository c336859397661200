"""The http workload against the real local server, under every model."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from suite.errors import CaseFailed, ModelUnavailable
from suite.harness import httpbackend, launcher, procgroup, protocol
from suite.harness.backend import Backend, BackendError, Backends
from suite.harness.worker import DESCRIPTOR_MARGIN
from suite.spec.cases import Case
from suite.workloads.http import CONNECTION, TIMEOUT, HttpParams, HttpWorkload

# The fast lane (-m 'not slow') leaves this module out: every test starts the HTTP backend.
pytestmark = pytest.mark.slow

PARAMS = {"tasks": 6, "latency_ms": 5, "body_bytes": 3000, "seed": 3}


@pytest.fixture(scope="module")
def endpoint() -> Iterator[dict[str, Any]]:
    backend = Backend("httpbackend")
    try:
        yield backend.start()
    finally:
        backend.stop()


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def http_case(**changes: Any) -> Case:
    base = Case(
        scenario="web",
        model="sequential",
        workers=1,
        kind="http",
        params=dict(PARAMS),
        rounds=2,
        warmup=1,
        timeout_s=30,
    )
    return dataclasses.replace(base, **changes)


def non_loopback_address() -> str | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # no packet is sent: this only picks a route
        except OSError:
            return None
        address: str = probe.getsockname()[0]
    return None if address.startswith("127.") else address


def test_server_binds_loopback_only(endpoint: dict[str, Any]) -> None:
    where = urlsplit(endpoint["url"])
    assert where.hostname == "127.0.0.1"
    assert where.port
    address = non_loopback_address()
    if address is None:
        pytest.skip("this machine has no non-loopback address to try")
    with pytest.raises(ConnectionRefusedError), socket.create_connection((address, where.port), timeout=5):
        pass


def test_latency_and_size_are_honoured(endpoint: dict[str, Any]) -> None:
    started = time.monotonic()
    status, body = get(f"{endpoint['url']}/work?i=4&latency_ms=150&body_bytes=5000&seed=9")
    assert time.monotonic() - started >= 0.15
    assert status == 200
    assert body == httpbackend.body(9, 4, 5000)
    assert len(body) == 5000


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("latency_ms=86400000", "latency_ms must be between 0 and 60000"),
        ("body_bytes=1000000000000000", "body_bytes must be between"),
        ("body_bytes=-1", "body_bytes must be between"),
        ("latency_ms=nan", "latency_ms must be between"),
        ("i=x", "i must be a whole number"),
        ("error_rate=2", "error_rate must be between 0 and 1"),
        ("color=red", "unknown parameter(s): color"),
    ],
)
def test_out_of_range_requests_get_400(endpoint: dict[str, Any], query: str, message: str) -> None:
    status, body = get(f"{endpoint['url']}/work?{query}")
    assert status == 400
    assert message in body.decode()
    assert get(f"{endpoint['url']}/work?i=1")[0] == 200  # and the server is still fine


def test_injected_errors_are_deterministic(endpoint: dict[str, Any]) -> None:
    failing = [i for i in range(40) if httpbackend.fails(5, i, 0.25)]
    assert 0 < len(failing) < 40
    statuses = [get(f"{endpoint['url']}/work?i={i}&seed=5&error_rate=0.25")[0] for i in range(40)]
    assert [i for i, status in enumerate(statuses) if status == 503] == failing


def expected_checksum(params: dict[str, Any]) -> str:
    size, seed = params["body_bytes"], params["seed"]
    return protocol.checksum([zlib.crc32(httpbackend.body(seed, i, size)) for i in range(params["tasks"])])


def test_every_model_fetches_the_same_bodies(model: str, endpoint: dict[str, Any]) -> None:
    if model == "trio":
        with pytest.raises(ModelUnavailable, match="http workload's async client runs on asyncio only"):
            launcher.run_case(http_case(model=model, workers=3), endpoint=endpoint)
        return
    result = launcher.run_case(http_case(model=model, workers=3), endpoint=endpoint)
    assert result.checksum == expected_checksum(PARAMS)
    assert result.status == "ok"
    assert result.summary["ok_per_round"] == [6, 6]
    assert result.summary["task_ms"]["p50"] >= 5  # every request waited its 5 ms
    assert all(cpu > 0 for cpu in result.summary["counters"]["server_cpu_s"])


@pytest.mark.parametrize("model", ["sequential", "threads", "asyncio", "processes"])
def test_warm_connections_are_reused_and_cold_ones_are_not(model: str, endpoint: dict[str, Any]) -> None:
    workers = 1 if model == "sequential" else 2
    warm = launcher.run_case(http_case(model=model, workers=workers, rounds=3), endpoint=endpoint)
    assert warm.summary["counters"]["new_connections"] == [0, 0, 0]
    cold_params = {**PARAMS, "connections": "cold"}
    cold = launcher.run_case(
        http_case(model=model, workers=workers, params=cold_params, rounds=3), endpoint=endpoint
    )
    assert all(n >= 1 for n in cold.summary["counters"]["new_connections"])
    assert cold.checksum == warm.checksum


@pytest.mark.parametrize("model", ["threads", "uvloop", "processes"])
def test_errors_are_counted_by_class_and_kept_out_of_latency(model: str, endpoint: dict[str, Any]) -> None:
    params = {**PARAMS, "tasks": 20, "error_rate": 0.3}
    failing = sum(httpbackend.fails(PARAMS["seed"], i, 0.3) for i in range(20))
    result = launcher.run_case(http_case(model=model, workers=4, params=params), endpoint=endpoint)
    assert result.status == "degraded"
    assert result.errors == {"http_503": 2 * failing}
    assert result.summary["ok_per_round"] == [20 - failing] * 2


def test_request_timeout_is_its_own_class(endpoint: dict[str, Any]) -> None:
    params = {**PARAMS, "tasks": 2, "latency_ms": 2000, "request_timeout_s": 0.2}
    result = launcher.run_case(
        http_case(model="asyncio", workers=2, params=params, warmup=0, rounds=1), endpoint=endpoint
    )
    assert result.errors == {"timeout": 2}
    assert result.summary["task_ms"] is None  # no successful request, so no latency sample


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def run_one_async(workload: HttpWorkload) -> int:
    await workload.prepare_async(1)
    try:
        return await workload.run_task_async(0)
    finally:
        await workload.close_async()


def test_refused_connection_is_its_own_class() -> None:
    workload = HttpWorkload(HttpParams(**PARAMS), {"url": f"http://127.0.0.1:{closed_port()}"})
    workload.prepare(1)
    try:
        value = workload.run_task(0)
    finally:
        workload.close()
    assert value == CONNECTION
    assert asyncio.run(run_one_async(workload)) == CONNECTION
    assert workload.error_class(value) == "connection"
    assert workload.error_class(TIMEOUT) == "timeout"
    assert workload.error_class(-503) == "http_503"
    assert workload.error_class(12345) is None


def test_ideal_is_the_latency_bound() -> None:
    fixed = HttpWorkload(HttpParams(tasks=500, latency_ms=20))
    assert fixed.ideal_s(100, None, 2) == pytest.approx(0.1)
    assert fixed.ideal_s(7, None, 2) == pytest.approx(72 * 0.02)
    drawn = HttpWorkload(HttpParams(tasks=5, latency={"distribution": "exponential", "mean_ms": 5}))
    draws = [drawn.params.latency_for(i) for i in range(5)]
    assert drawn.ideal_s(5, None, 2) == pytest.approx(max(draws) / 1000)
    assert drawn.ideal_s(1, None, 2) == pytest.approx(sum(draws) / 1000)


@pytest.mark.parametrize("distribution", ["uniform", "exponential", "lognormal"])
def test_latency_draws_are_repeatable_with_the_right_mean(distribution: str) -> None:
    params = HttpParams(tasks=1, latency={"distribution": distribution, "mean_ms": 20, "seed": 4})
    draws = [params.latency_for(i) for i in range(4000)]
    assert draws == [params.latency_for(i) for i in range(4000)]
    assert sum(draws) / len(draws) == pytest.approx(20, rel=0.1)


def test_exactly_one_latency_is_required() -> None:
    with pytest.raises(ValueError, match="exactly one of latency_ms"):
        HttpParams(tasks=1)
    with pytest.raises(ValueError, match="exactly one of latency_ms"):
        HttpParams(tasks=1, latency_ms=1, latency={"distribution": "uniform", "mean_ms": 1})


def test_descriptor_preflight_refuses_an_impossible_case(tmp_path: Path, endpoint: dict[str, Any]) -> None:
    # A worker whose hard descriptor limit is 256 cannot hold 1,000 sockets.
    python = tmp_path / "python-256"
    python.write_text(f'#!/bin/sh\nulimit -n 256\nexec "{sys.executable}" "$@"\n')
    python.chmod(0o755)
    case = http_case(model="threads", workers=1000)
    with pytest.raises(CaseFailed) as info:
        launcher.run_case(case, python=str(python), endpoint=endpoint)
    assert info.value.reason.startswith("ResourceLimitError: needs 1064 file descriptors")
    assert "(1000 sockets for 1000 concurrent tasks + 64 margin)" in info.value.reason
    assert DESCRIPTOR_MARGIN == 64


def test_descriptor_preflight_counts_the_server_too(endpoint: dict[str, Any]) -> None:
    small_server = {**endpoint, "nofile": 100}
    with pytest.raises(CaseFailed, match=r"the server would need 164 file descriptors"):
        launcher.run_case(http_case(model="processes", workers=100), endpoint=small_server)


class SilentBackend(Backend):
    def command(self) -> list[str]:
        return [sys.executable, "-c", "import time; time.sleep(60)"]


def test_backend_that_never_gets_ready_is_a_clear_error() -> None:
    backend = SilentBackend("silent", ready_timeout_s=0.5)
    started = time.monotonic()
    with pytest.raises(BackendError, match=r"did not report ready within 0.5 s"):
        backend.start()
    assert time.monotonic() - started < 5
    assert backend.proc is None  # stopped, with its process group


def test_backend_that_cannot_start_says_why() -> None:
    with pytest.raises(BackendError, match="exited before it was ready") as info:
        Backend("no_such_server").start()
    assert "No module named suite.harness.no_such_server" in str(info.value)


def test_dead_server_is_reported_not_restarted() -> None:
    backends = Backends()
    try:
        first = backends.endpoint("httpbackend")
        os.kill(first["pid"], 9)
        time.sleep(0.2)
        with pytest.raises(BackendError, match="died during the run"):
            backends.endpoint("httpbackend")
    finally:
        backends.close()


def test_server_program_prints_its_endpoint_first() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "suite.harness.httpbackend"],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert proc.stdout is not None
        ready = json.loads(proc.stdout.readline())
        assert ready["url"].startswith("http://127.0.0.1:")
        assert ready["pid"] == proc.pid
        assert ready["nofile"] >= 1024
    finally:
        procgroup.stop_group(proc)  # type: ignore[arg-type]
        assert proc.stdout is not None
        proc.stdout.close()


@pytest.mark.parametrize("model", ["asyncio", "threads", "processes"])
def test_pipeline_fetches_then_hashes_the_same_under_every_model(
    model: str, endpoint: dict[str, Any]
) -> None:
    params = {**PARAMS, "hash_repeat": 3, "algorithm": "blake2b"}
    reference = launcher.run_case(http_case(kind="pipeline", params=params), endpoint=endpoint)
    result = launcher.run_case(
        http_case(model=model, workers=3, kind="pipeline", params=params), endpoint=endpoint
    )
    assert result.checksum == reference.checksum
    assert result.checksum != launcher.run_case(http_case(), endpoint=endpoint).checksum  # hashed, not CRCed
    assert result.status == "ok"
