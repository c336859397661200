"""Queries against a real database: SQLite by default, PostgreSQL for real.

Each task runs ``queries`` statements of one ``query`` shape against a table of ``rows``
rows the suite builds from ``seed`` (the same rows everywhere; its count and sum are
checked before any round, so a table left over with other data fails the case):

- ``point``: a read by primary key, ``SELECT value FROM t WHERE id = k``;
- ``write``: a short transaction: insert an event row, bump one of 16 hot counters (the
  rows every writer contends for), read the key's value back;
- ``aggregate``: ``SELECT count(*), sum(value) FROM t WHERE grp = g`` with no index on
  ``grp``: a scan of the table, the heavier read.

The task's value folds the values read, so every model's checksum is the same.

Engines and drivers (each process opens its own connections in :meth:`prepare`, a pool
sized to the concurrency it runs, before any round):

- ``sqlite`` (the default): a database file in the case's own folder. ``sqlite3`` for the
  baseline, threads and processes; ``aiosqlite`` on event loops (each of its
  connections is a thread of its own behind the loop: what asyncio code gets).
- ``postgres``: the server given by ``suite run --postgres DSN``, else a throwaway
  cluster the suite starts for the run (:mod:`suite.harness.pgbackend`). psycopg 3's
  pool for the baseline, threads and processes; on event loops ``asyncpg``'s pool, or
  psycopg's async pool with ``async_driver: psycopg``.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib.util
import queue
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import Field

from suite.workloads import Workload, WorkloadParams

#: The longest a task waits for a pooled connection (none waits while the server is up).
POOL_WAIT_S = 5.0
#: The hot rows every ``write`` task bumps one of.
COUNTERS = 16
#: Groups ``aggregate`` reads one of (each about rows / GROUPS rows).
GROUPS = 100
_FOLD = (1 << 61) - 1


class DbParams(WorkloadParams):
    quick_fields = ("rows",)
    engine: Literal["sqlite", "postgres"] = Field(default="sqlite", description="the database")
    query: Literal["point", "write", "aggregate"] = Field(default="point", description="what each query does")
    queries: int = Field(default=1, ge=1, le=10_000, description="queries per task")
    rows: int = Field(default=10_000, ge=GROUPS, le=10_000_000, description="rows in the table")
    seed: int = Field(default=0, ge=0, le=2**31 - 1, description="chooses the rows' values and the keys")
    async_driver: Literal["asyncpg", "psycopg"] = Field(
        default="asyncpg", description="PostgreSQL's driver on event loops"
    )


def row_value(seed: int, key: int) -> int:
    return int.from_bytes(hashlib.blake2b(f"{seed}:{key}".encode(), digest_size=6).digest(), "little")


def expected_sum(seed: int, rows: int) -> int:
    return sum(row_value(seed, k) for k in range(rows))


def key_for(seed: int, rows: int, index: int, j: int) -> int:
    digest = hashlib.blake2b(f"{seed}:{index}:{j}:key".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") % rows


def _row(row: Any) -> tuple[Any, ...]:
    if row is None:
        raise RuntimeError("the database returned no row where one was due")
    return tuple(row)


def fold(values: Iterator[int] | list[int]) -> int:
    total = 0
    for value in values:
        total = (total * 31 + value) % _FOLD
    return total


def client_backends(pid: int) -> set[int]:
    """The server's processes serving a client connection (their title names the client's
    address: ``postgres: user db 127.0.0.1(port) idle``)."""
    import psutil

    found = set()
    with contextlib.suppress(psutil.Error):
        for proc in psutil.Process(pid).children():
            with contextlib.suppress(psutil.Error):
                if "(" in " ".join(proc.cmdline()):
                    found.add(proc.pid)
    return found


def server_cpu_s(pid: int) -> float:
    """CPU seconds of the PostgreSQL server ``pid`` and its backends so far, to the
    nanosecond (``/proc/PID/schedstat``). The kernel's per-process clock ticks (10 ms)
    are too coarse here: 64 backends each running a few milliseconds a round read 0 or
    10 ms apiece. Falls back to the ticks where schedstat is missing."""
    import psutil

    total = 0.0
    with contextlib.suppress(psutil.Error):
        root = psutil.Process(pid)
        for proc in [root, *root.children(recursive=True)]:
            try:
                with open(f"/proc/{proc.pid}/schedstat") as fh:
                    total += int(fh.read().split()[0]) / 1e9
            except (OSError, ValueError, IndexError):
                with contextlib.suppress(psutil.Error):
                    cpu = proc.cpu_times()
                    total += cpu.user + cpu.system
    return total


class DbWorkload(Workload):
    kind = "db"
    Params = DbParams
    summary = "queries against SQLite (default) or PostgreSQL: point reads, short writes, scans"
    async_libraries: ClassVar[frozenset[str]] = frozenset({"asyncio"})
    holds_gil = False
    params: DbParams

    @classmethod
    def backend_for(cls, params: Mapping[str, Any]) -> str | None:
        return "pgbackend" if params.get("engine") == "postgres" else None

    @classmethod
    def unavailable_with(cls, params: WorkloadParams) -> str | None:
        assert isinstance(params, DbParams)
        needed = (
            ["aiosqlite"] if params.engine == "sqlite" else ["psycopg", "psycopg_pool", params.async_driver]
        )
        absent = sorted({n for n in needed if importlib.util.find_spec(n) is None})
        if absent:
            names = " ".join("psycopg[binary]" if n == "psycopg" else n.replace("_", "-") for n in absent)
            return f"{' and '.join(absent)} not installed for this interpreter: pip install {names}"
        return None

    @property
    def table(self) -> str:
        return f"suite_items_{self.params.rows}_{self.params.seed}"

    # The data set: built once, by whichever process prepares first.

    def _sqlite_path(self) -> str:
        folder = self.scratch
        if folder is None:
            raise RuntimeError("the db kind on SQLite needs the case's folder")
        return str(Path(folder, "suite.sqlite"))

    @contextlib.contextmanager
    def _building(self) -> Iterator[None]:
        """Held by one process at a time while it checks or builds the SQLite data."""
        with open(self._sqlite_path() + ".lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _statements(self) -> list[str]:
        t = self.table
        return [
            f"CREATE TABLE IF NOT EXISTS {t} (id INTEGER PRIMARY KEY, grp INTEGER NOT NULL, "
            "value BIGINT NOT NULL, note TEXT NOT NULL)",
            "CREATE TABLE IF NOT EXISTS suite_counters (id INTEGER PRIMARY KEY, n BIGINT NOT NULL)",
            "CREATE TABLE IF NOT EXISTS suite_events (task INTEGER NOT NULL, k INTEGER NOT NULL)",
        ]

    def _rows(self) -> Iterator[tuple[int, int, int, str]]:
        seed = self.params.seed
        for k in range(self.params.rows):
            value = row_value(seed, k)
            yield k, k % GROUPS, value, f"{value:032x}"

    def _check(self, count: int, total: int | None) -> None:
        want = (self.params.rows, expected_sum(self.params.seed, self.params.rows))
        if (count, int(total or 0)) != want:
            raise RuntimeError(
                f"table {self.table} holds {count} rows summing to {total}, not the {want[0]} rows "
                f"summing to {want[1]} that seed {self.params.seed} builds: drop it and run again"
            )

    def _ensure_sqlite(self) -> None:
        import sqlite3

        with self._building(), contextlib.closing(sqlite3.connect(self._sqlite_path())) as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            for statement in self._statements():
                conn.execute(statement)
            count, total = conn.execute(f"SELECT count(*), sum(value) FROM {self.table}").fetchone()
            if count == 0:
                conn.executemany(f"INSERT INTO {self.table} VALUES (?, ?, ?, ?)", self._rows())
                conn.executemany(
                    "INSERT OR IGNORE INTO suite_counters VALUES (?, 0)", [(i,) for i in range(COUNTERS)]
                )
                conn.commit()
                count, total = conn.execute(f"SELECT count(*), sum(value) FROM {self.table}").fetchone()
            self._check(count, total)

    def _ensure_postgres(self) -> None:
        import psycopg

        lock = int.from_bytes(hashlib.blake2b(self.table.encode(), digest_size=4).digest(), "little")
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            conn.execute("SELECT pg_advisory_lock(%s)", (lock,))
            try:
                for statement in self._statements():
                    conn.execute(statement)
                count, total = _row(conn.execute(f"SELECT count(*), sum(value) FROM {self.table}").fetchone())
                if count == 0:
                    with conn.transaction(), conn.cursor() as cur:
                        with cur.copy(f"COPY {self.table} (id, grp, value, note) FROM STDIN") as copy:
                            for row in self._rows():
                                copy.write_row(row)
                        cur.executemany(
                            "INSERT INTO suite_counters VALUES (%s, 0) ON CONFLICT DO NOTHING",
                            [(i,) for i in range(COUNTERS)],
                        )
                    conn.execute(f"ANALYZE {self.table}")
                    count, total = _row(
                        conn.execute(f"SELECT count(*), sum(value) FROM {self.table}").fetchone()
                    )
                self._check(count, total)
            finally:
                conn.execute("SELECT pg_advisory_unlock(%s)", (lock,))

    @property
    def dsn(self) -> str:
        dsn: str = self.endpoint["dsn"]
        return dsn

    def _ensure(self) -> None:
        if self.params.engine == "sqlite":
            self._ensure_sqlite()
        else:
            self._ensure_postgres()

    # What one task does, as SQL with each driver's placeholders.

    def _keys(self, index: int) -> list[int]:
        p = self.params
        return [key_for(p.seed, p.rows, index, j) for j in range(p.queries)]

    def _sql(self, style: str) -> dict[str, str]:
        """The statements with placeholders in ``style``: ``qmark`` (?), ``format`` (%s) or
        ``numeric`` ($1)."""
        one = {"qmark": "?", "format": "%s", "numeric": "$1"}[style]
        two = {"qmark": "?", "format": "%s", "numeric": "$2"}[style]
        t = self.table
        return {
            "point": f"SELECT value FROM {t} WHERE id = {one}",
            "aggregate": f"SELECT count(*), sum(value) FROM {t} WHERE grp = {one}",
            "event": f"INSERT INTO suite_events (task, k) VALUES ({one}, {two})",
            "bump": f"UPDATE suite_counters SET n = n + 1 WHERE id = {one}",
        }

    # Synchronous drivers: sqlite3, psycopg (a pool of connections, one per thread at once).

    _pool: Any = None
    _async_pool: Any = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._seen: set[int] = set()

    def prepare(self, concurrency: int) -> None:
        self._ensure()
        if self.params.engine == "sqlite":
            import sqlite3

            pool: queue.LifoQueue[Any] = queue.LifoQueue()
            for _ in range(concurrency):
                conn = sqlite3.connect(self._sqlite_path(), check_same_thread=False, timeout=60)
                conn.execute("PRAGMA journal_mode=WAL")
                pool.put(conn)
            self._pool = pool
        else:
            from psycopg_pool import ConnectionPool

            # The pool is as large as the tasks in flight, so a task never waits for a
            # connection: a wait means the server is gone, and the round fails in 5 s
            # instead of the pool's default 30.
            self._pool = ConnectionPool(
                self.dsn, min_size=concurrency, max_size=concurrency, open=True, timeout=POOL_WAIT_S
            )
            self._pool.wait(timeout=60)

    def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is None:
            return
        if isinstance(pool, queue.LifoQueue):
            while not pool.empty():
                pool.get().close()
        else:
            pool.close()

    @contextlib.contextmanager
    def _connection(self) -> Iterator[Any]:
        if isinstance(self._pool, queue.LifoQueue):
            conn = self._pool.get()
            try:
                yield conn
            finally:
                self._pool.put(conn)
        else:
            with self._pool.connection() as conn:
                yield conn

    def run_task(self, index: int) -> int:
        assert self._pool is not None, "prepare() was not called"
        sqlite = self.params.engine == "sqlite"
        sql = self._sql("qmark" if sqlite else "format")
        values: list[int] = []
        with self._connection() as conn:
            for k in self._keys(index):
                if self.params.query == "point":
                    values.append(conn.execute(sql["point"], (k,)).fetchone()[0])
                elif self.params.query == "aggregate":
                    count, total = conn.execute(sql["aggregate"], (k % GROUPS,)).fetchone()
                    values += [count, int(total)]
                else:
                    values.append(self._write(conn, sql, index, k, sqlite))
        return fold(values)

    def _write(self, conn: Any, sql: dict[str, str], index: int, k: int, sqlite: bool) -> int:
        if sqlite:
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.execute(sql["event"], (index, k))
                conn.execute(sql["bump"], (k % COUNTERS,))
                value = conn.execute(sql["point"], (k,)).fetchone()[0]
            except BaseException:
                conn.rollback()
                raise
            conn.commit()
            return int(value)
        with conn.transaction():
            conn.execute(sql["event"], (index, k))
            conn.execute(sql["bump"], (k % COUNTERS,))
            return int(conn.execute(sql["point"], (k,)).fetchone()[0])

    # Asynchronous drivers: aiosqlite, asyncpg, psycopg's async pool.

    async def prepare_async(self, concurrency: int) -> None:
        self._ensure()
        p = self.params
        if p.engine == "sqlite":
            import asyncio

            import aiosqlite

            pool: asyncio.LifoQueue[Any] = asyncio.LifoQueue()
            for _ in range(concurrency):
                conn = await aiosqlite.connect(self._sqlite_path(), timeout=60)
                await conn.execute("PRAGMA journal_mode=WAL")
                pool.put_nowait(conn)
            self._async_pool = pool
        elif p.async_driver == "asyncpg":
            import asyncpg

            self._async_pool = await asyncpg.create_pool(self.dsn, min_size=concurrency, max_size=concurrency)
        else:
            from psycopg_pool import AsyncConnectionPool

            self._async_pool = AsyncConnectionPool(
                self.dsn, min_size=concurrency, max_size=concurrency, open=False, timeout=POOL_WAIT_S
            )
            await self._async_pool.open(wait=True, timeout=60)

    async def close_async(self) -> None:
        pool, self._async_pool = self._async_pool, None
        if pool is None:
            return
        import asyncio

        if isinstance(pool, asyncio.LifoQueue):
            while not pool.empty():
                await pool.get_nowait().close()
        else:
            await pool.close()

    async def run_task_async(self, index: int) -> int:
        import asyncio

        pool = self._async_pool
        assert pool is not None, "prepare_async() was not called"
        p = self.params
        keys = self._keys(index)
        values: list[int] = []
        if isinstance(pool, asyncio.LifoQueue):
            sql = self._sql("qmark")
            conn = await pool.get()
            try:
                for k in keys:
                    values += await self._sqlite_async(conn, sql, index, k)
            finally:
                pool.put_nowait(conn)
        elif p.async_driver == "asyncpg":
            sql = self._sql("numeric")
            async with pool.acquire() as conn:
                for k in keys:
                    if p.query == "point":
                        values.append(await conn.fetchval(sql["point"], k))
                    elif p.query == "aggregate":
                        row = await conn.fetchrow(sql["aggregate"], k % GROUPS)
                        values += [row[0], int(row[1])]
                    else:
                        async with conn.transaction():
                            await conn.execute(sql["event"], index, k)
                            await conn.execute(sql["bump"], k % COUNTERS)
                            values.append(await conn.fetchval(sql["point"], k))
        else:
            sql = self._sql("format")
            async with pool.connection() as conn:
                for k in keys:
                    if p.query == "point":
                        row = await (await conn.execute(sql["point"], (k,))).fetchone()
                        values.append(row[0])
                    elif p.query == "aggregate":
                        row = await (await conn.execute(sql["aggregate"], (k % GROUPS,))).fetchone()
                        values += [row[0], int(row[1])]
                    else:
                        async with conn.transaction():
                            await conn.execute(sql["event"], (index, k))
                            await conn.execute(sql["bump"], (k % COUNTERS,))
                            row = await (await conn.execute(sql["point"], (k,))).fetchone()
                            values.append(row[0])
        return fold(values)

    async def _sqlite_async(self, conn: Any, sql: dict[str, str], index: int, k: int) -> list[int]:
        q = self.params.query
        if q == "point":
            async with conn.execute(sql["point"], (k,)) as cur:
                return [(await cur.fetchone())[0]]
        if q == "aggregate":
            async with conn.execute(sql["aggregate"], (k % GROUPS,)) as cur:
                count, total = await cur.fetchone()
                return [count, int(total)]
        await conn.execute("BEGIN IMMEDIATE")
        try:
            await conn.execute(sql["event"], (index, k))
            await conn.execute(sql["bump"], (k % COUNTERS,))
            async with conn.execute(sql["point"], (k,)) as cur:
                value = (await cur.fetchone())[0]
        except BaseException:
            await conn.rollback()
            raise
        await conn.commit()
        return [int(value)]

    # What the worker reads around rounds: the PostgreSQL server's CPU.

    def counters(self) -> dict[str, float]:
        pid = self.endpoint.get("pid")
        if self.params.engine != "postgres" or pid is None:
            return {}
        self._seen.update(client_backends(int(pid)))
        # Connections seen so far (a client backend is a process of the server's): the
        # worker records how many appeared during each round, 0 when every pool was
        # opened before the rounds and no connection dropped.
        return {"server_cpu_s": server_cpu_s(int(pid)), "new_connections": float(len(self._seen))}

    def descriptors_needed(self, concurrency: int) -> int:
        return concurrency

    def rough_task_s(self) -> tuple[float, float]:
        per = {"point": 0.0001, "write": 0.0005, "aggregate": 0.001 * self.params.rows / 10_000}
        return per[self.params.query] * self.params.queries, 0.00005 * self.params.queries


WORKLOAD = DbWorkload
