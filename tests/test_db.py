"""The db kind: real queries on SQLite and on a throwaway PostgreSQL, the same answer from
every model and driver, a table of other data refused, and nothing left running.

PostgreSQL's tests need its server binaries (``initdb``, ``postgres``); they skip, with
where they looked, only where those are absent."""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from suite.harness.backend import Backend
from suite.harness.pgbackend import find_binaries
from suite.spec import registry
from suite.workloads import Workload
from suite.workloads.db import DbWorkload, expected_sum

pytestmark = pytest.mark.slow

MODELS = ["sequential", "asyncio", "threads", "processes"]


def db(folder: Path | None, endpoint: dict[str, Any] | None = None, **params: Any) -> Workload:
    merged = {"tasks": 12, "rows": 500, "queries": 3, **params}
    return DbWorkload(DbWorkload.Params.model_validate(merged), endpoint, str(folder) if folder else None)


def values(model: str, workload: Workload, workers: int = 3) -> list[list[int]]:
    runner = registry.runner(model)(workload, workers=workers)
    runner.start()
    try:
        return [list(runner.run_round(12, n).values) for n in range(2)]
    finally:
        runner.close()


@pytest.mark.parametrize("query", ["point", "write", "aggregate"])
def test_every_model_answers_the_same_on_sqlite(tmp_path: Path, query: str) -> None:
    expected = values("sequential", db(tmp_path, query=query), workers=1)
    assert expected[0] == expected[1]
    assert len(set(expected[0])) > 1  # the values depend on the rows read
    for model in MODELS[1:]:
        assert values(model, db(tmp_path, query=query)) == expected, model


def test_a_table_of_other_data_is_refused_with_what_it_holds(tmp_path: Path) -> None:
    import sqlite3

    values("sequential", db(tmp_path), workers=1)
    with contextlib.closing(sqlite3.connect(tmp_path / "suite.sqlite")) as conn:
        conn.execute("UPDATE suite_items_500_0 SET value = value + 1 WHERE id = 7")
        conn.commit()
    with pytest.raises(RuntimeError, match=r"table suite_items_500_0 holds 500 rows summing to \d+, not"):
        values("sequential", db(tmp_path), workers=1)


def test_the_rows_come_from_the_seed() -> None:
    assert expected_sum(0, 500) == expected_sum(0, 500)
    assert expected_sum(0, 500) != expected_sum(1, 500)


def test_only_postgres_needs_a_server() -> None:
    assert DbWorkload.backend_for({"engine": "postgres"}) == "pgbackend"
    assert DbWorkload.backend_for({"engine": "sqlite"}) is None
    assert DbWorkload.backend_for({}) is None


# PostgreSQL: a throwaway cluster, as a run starts it.

BINARIES, WHY = find_binaries()
needs_postgres = pytest.mark.skipif(BINARIES is None, reason=WHY)


def server_tree(pid: int) -> list[psutil.Process]:
    with contextlib.suppress(psutil.NoSuchProcess):
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    return []


@pytest.fixture(scope="module")
def postgres() -> Iterator[dict[str, Any]]:
    backend = Backend("pgbackend", ready_timeout_s=60)
    endpoint = backend.start()
    try:
        yield endpoint
    finally:
        backend.stop()


@needs_postgres
@pytest.mark.parametrize("query", ["point", "write", "aggregate"])
def test_every_model_and_driver_answers_the_same_on_postgres(postgres: dict[str, Any], query: str) -> None:
    expected = values("sequential", db(None, postgres, engine="postgres", query=query), workers=1)
    assert len(set(expected[0])) > 1
    for model in MODELS[1:]:
        assert values(model, db(None, postgres, engine="postgres", query=query)) == expected, model
    psycopg_async = db(None, postgres, engine="postgres", query=query, async_driver="psycopg")
    assert values("asyncio", psycopg_async) == expected


@needs_postgres
def test_the_server_cpu_and_the_connections_are_counted(postgres: dict[str, Any]) -> None:
    workload = db(None, postgres, engine="postgres", rows=20_000, query="aggregate")
    before = workload.counters()
    runner = registry.runner("threads")(workload, workers=3)
    runner.start()
    try:
        opened = workload.counters()
        runner.run_round(12, 0)
        after = workload.counters()
    finally:
        runner.close()
    assert after["server_cpu_s"] > opened["server_cpu_s"] >= before["server_cpu_s"]
    # Three connections opened with the pool, before the round; none during it.
    assert opened["new_connections"] - before["new_connections"] == 3
    assert after["new_connections"] == opened["new_connections"]


def test_a_given_server_is_used_as_it_is_and_never_started() -> None:
    from suite.harness.backend import Backends

    given = {"dsn": "postgresql://me@db.example:5432/app", "given": True}
    backends = Backends(given={"pgbackend": given})
    assert backends.endpoint("pgbackend") is given
    assert backends._running == {}


@needs_postgres
def test_a_server_that_stops_fails_the_round_with_the_reason() -> None:
    backend = Backend("pgbackend", ready_timeout_s=60)
    endpoint = backend.start()
    try:
        runner = registry.runner("threads")(db(None, endpoint, engine="postgres"), workers=2)
        runner.start()
        try:
            runner.run_round(12, 0)
            os.kill(int(endpoint["pid"]), signal.SIGINT)  # PostgreSQL's fast shutdown
            psutil.Process(int(endpoint["pid"])).wait(timeout=20)
            with pytest.raises(Exception, match=r"(?i)terminat|connection|closed|shut"):
                runner.run_round(12, 1)
        finally:
            runner.close()
    finally:
        backend.stop()


@needs_postgres
def test_a_stopped_cluster_leaves_no_process_and_no_folder() -> None:
    backend = Backend("pgbackend", ready_timeout_s=60)
    endpoint = backend.start()
    tree = server_tree(int(endpoint["pid"]))
    folder = Path(endpoint["folder"])
    assert tree, "the cluster's server is running"
    assert (folder / "data" / "postmaster.pid").exists()
    backend.stop()
    _, alive = psutil.wait_procs(tree, timeout=10)
    assert alive == []
    assert not folder.exists()


@needs_postgres
def test_a_server_answers_from_the_database_and_its_cpu_is_counted(postgres: dict[str, Any]) -> None:
    from suite.harness.serve_case import record, run_serve_case
    from suite.spec.cases import Case

    def serve(model: str) -> Any:
        case = Case(
            scenario="serve-db-test",
            model=model,
            workers=4,
            kind="db",
            params={"tasks": 16, "engine": "postgres", "rows": 500, "queries": 3},
            rounds=1,
            warmup=0,
            timeout_s=30,
            interleave=False,
            mode="serve",
            load={
                "mode": "closed",
                "connections": 8,
                "label": "closed8",
                "duration_s": 0.5,
                "warmup_s": 0.1,
                "timeout_s": 2,
            },
        )
        return record(run_serve_case(case, endpoint=postgres))

    threads, loop = serve("threads"), serve("uvloop")
    assert threads.status == loop.status == "ok"
    assert threads.checksum == loop.checksum is not None
    assert (threads.backend_cpu_s or 0) > 0
