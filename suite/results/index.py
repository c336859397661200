"""An index of the saved runs (SQLite, ``results/index.sqlite``): a history or a compare
reads it instead of every run file.

One row per run file, one per measured case, and one per scenario the capacity probe
read, with what histories and noise floors need: medians, paired speedups with their
intervals, instruction counts, parameters, the probe's single-core time. The index is a
cache of the files, never the record:

- every open brings it up to date with the folder: files new or changed since (by size
  and modification time) are read, rows of deleted files dropped; a save updates it
  through the same path;
- an index that is missing, unreadable or written by another version of this module is
  rebuilt from the files;
- where ``results/`` cannot be written, the index lives in memory for the one command.

A file the suite cannot read gets a row with the reason, so it is not read again until
it changes; readers skip it.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import os
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from suite.results import history, machine
from suite.results.history import HistoryError, Measurement, Run, case_label

INDEX_FILE = "index.sqlite"
#: Bump when the tables or what goes into them change: an index of another version is
#: rebuilt from the files.
VERSION = 3

_TABLES = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE runs (
    id INTEGER PRIMARY KEY, path TEXT UNIQUE NOT NULL, mtime_ns INTEGER NOT NULL, size INTEGER NOT NULL,
    number TEXT, name TEXT, label TEXT, datetime TEXT, commit_id TEXT,
    quick INTEGER, complete INTEGER, python TEXT, error TEXT
);
CREATE TABLE cases (
    run INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    scenario TEXT NOT NULL, model TEXT NOT NULL, workers INTEGER, point TEXT,
    interpreter TEXT NOT NULL, params TEXT NOT NULL, median REAL NOT NULL, rounds INTEGER,
    speedup REAL, speedup_low REAL, speedup_high REAL, instructions INTEGER
);
CREATE INDEX cases_by_key ON cases (scenario, model, workers, point, interpreter);
CREATE INDEX cases_by_run ON cases (run);
CREATE TABLE probes (
    run INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    scenario TEXT NOT NULL, single_s REAL, parallelism REAL
);
"""


@dataclass(frozen=True)
class RunRow:
    """A saved run as the index knows it (``id``: its row, as cases refer to it)."""

    id: int
    path: Path
    number: str
    name: str
    label: str
    datetime: str
    commit: str
    quick: bool
    complete: bool | None
    python: str

    @property
    def key(self) -> tuple[str, float]:
        """Oldest first: by the time the run began, then by when its file was written."""
        return self.datetime, self.path.stat().st_mtime if self.path.exists() else 0.0


class CaseRow(NamedTuple):
    """One measured case of one saved run (``run``: the run's :attr:`RunRow.id`). A
    tuple, not a dataclass: a history of 1,000 runs reads 266,000 of them."""

    run: int
    scenario: str
    model: str
    workers: int | None
    point: str | None
    interpreter: str
    params: str
    median: float
    speedup: float | None
    instructions: int | None

    @property
    def label(self) -> str:
        return case_label(self.model, self.workers, self.point)


@dataclass
class CaseSeries:
    """One case over many runs, column by column (``runs``: :attr:`RunRow.id` of each)."""

    scenario: str
    model: str
    workers: int | None
    point: str | None
    interpreter: str
    runs: list[int]
    medians: list[float]
    speedups: list[float | None]
    instructions: list[int | None]
    params: list[str]
    #: The paired speedups' 95% intervals, where asked for (:meth:`Index.series`).
    lows: list[float | None] = field(default_factory=list)
    highs: list[float | None] = field(default_factory=list)

    @property
    def label(self) -> str:
        return case_label(self.model, self.workers, self.point)

    def ordered(self, position: dict[int, int]) -> None:
        """Put the columns in the order of ``position`` (run id: place), in place."""
        places = [position[r] for r in self.runs]
        if all(a < b for a, b in itertools.pairwise(places)):
            return
        order = sorted(range(len(places)), key=places.__getitem__)
        for name in ("runs", "medians", "speedups", "instructions", "params", "lows", "highs"):
            column = getattr(self, name)
            if column:
                setattr(self, name, [column[i] for i in order])


def _numbers(text: str | None, kind: type) -> list[Any]:
    return [kind(v) if v else None for v in (text or "").split(",")]


def params_text(m: Measurement) -> str:
    """A case's parameters as one short comparable string: the same work, the same text
    (a digest: a history of 1,000 runs reads it 266,000 times)."""
    text = json.dumps(m.record.params, sort_keys=True, default=str)
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def case_key(m: Measurement) -> tuple[str, str, int | None, str | None, str, str]:
    """What makes two runs' cases the same case doing the same work, as the index keys it."""
    return m.scenario, m.model, m.workers, m.point, m.interpreter, params_text(m)


def _run_row(run: Run) -> tuple[object, ...]:
    return (
        run.number,
        run.name,
        run.label,
        run.datetime,
        run.commit,
        int(run.quick),
        None if run.complete is None else int(run.complete),
        run.environment()["interpreter"],
    )


def _case_rows(run_id: int, run: Run) -> Iterator[tuple[object, ...]]:
    for m in run.measurements:
        interval: Sequence[float | None] = m.record.speedup_interval or (None, None)
        yield (
            run_id,
            *case_key(m),
            m.median,
            len(m.rounds),
            m.record.speedup,
            interval[0],
            interval[-1],
            m.record.instructions_per_task,
        )


def _probe_rows(run_id: int, run: Run) -> Iterator[tuple[object, ...]]:
    readings = run.probe_readings
    for scenario, some in [("", readings), *machine.by_scenario(readings).items()]:
        found = machine.summary(some)
        if found is not None:
            yield run_id, scenario, found["single_s"], found["parallelism"]


class Index:
    """The saved runs under one ``results`` folder, as rows; see the module's docstring."""

    def __init__(self, results: Path, connection: sqlite3.Connection, where: str) -> None:
        self.results = results
        self.db = connection
        #: The index file, or why it is in memory.
        self.where = where

    @classmethod
    def open(cls, results: Path) -> Index:
        """The index of ``results``, brought up to date with its files."""
        path = results / INDEX_FILE
        connection = None
        where = str(path)
        if results.is_dir() and os.access(results, os.W_OK):
            connection = _connect(path)
        if connection is None:
            where = f"in memory ({results} cannot be written)" if results.is_dir() else "in memory"
            connection = _create(":memory:")
        index = cls(results, connection, where)
        index.sync()
        return index

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Index:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def sync(self) -> int:
        """Read the files that are new or changed, drop the rows of deleted ones; the
        number of files read."""
        files = {str(p): p for p in history.saved_files(self.results)} if self.results.is_dir() else {}
        with self._writing():
            known = {
                row[0]: (row[1], row[2]) for row in self.db.execute("SELECT path, mtime_ns, size FROM runs")
            }
            gone = [p for p in known if p not in files]
            self.db.executemany("DELETE FROM runs WHERE path = ?", [(p,) for p in gone])
            read = 0
            for name, path in files.items():
                try:
                    stat = path.stat()
                except OSError:
                    continue
                if known.get(name) == (stat.st_mtime_ns, stat.st_size):
                    continue
                self._add(path, stat.st_mtime_ns, stat.st_size)
                read += 1
        return read

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        """One transaction, taken before reading, so two commands syncing at once do not
        both read the same files."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.db.rollback()
            raise
        self.db.commit()

    def _add(self, path: Path, mtime_ns: int, size: int) -> None:
        self.db.execute("DELETE FROM runs WHERE path = ?", (str(path),))
        try:
            run = history.read_run(path)
        except HistoryError as exc:
            self.db.execute(
                "INSERT INTO runs (path, mtime_ns, size, error) VALUES (?, ?, ?, ?)",
                (str(path), mtime_ns, size, str(exc)),
            )
            return
        added = self.db.execute(
            "INSERT INTO runs VALUES (NULL, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)",
            (str(path), mtime_ns, size, *_run_row(run)),
        )
        run_id = int(added.lastrowid or 0)
        self.db.executemany(
            "INSERT INTO cases VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", _case_rows(run_id, run)
        )
        self.db.executemany("INSERT INTO probes VALUES (?, ?, ?, ?)", _probe_rows(run_id, run))

    # Reading

    def runs(self) -> list[RunRow]:
        """Every readable run, oldest first."""
        rows = self.db.execute(
            "SELECT id, path, number, name, label, datetime, commit_id, quick, complete, python "
            "FROM runs WHERE error IS NULL"
        )
        found = [
            RunRow(
                i,
                Path(p),
                n or "",
                name or "",
                label or "",
                dt or "",
                c or "",
                bool(q),
                None if k is None else bool(k),
                py or "",
            )
            for i, p, n, name, label, dt, c, q, k, py in rows
        ]
        return sorted(found, key=lambda r: r.key)

    def unreadable(self) -> list[tuple[Path, str]]:
        return [
            (Path(p), e) for p, e in self.db.execute("SELECT path, error FROM runs WHERE error IS NOT NULL")
        ]

    def latest(self) -> Path | None:
        runs = self.runs()
        return runs[-1].path if runs else None

    def cases(self, runs: Sequence[int] | None = None) -> list[CaseRow]:
        """The measured cases of the runs of these ids (all runs when ``None``)."""
        query = (
            "SELECT run, scenario, model, workers, point, interpreter, params, median, speedup, instructions "
            "FROM cases"
        )
        if runs is None:
            rows: Iterable[tuple[object, ...]] = self.db.execute(query)
        else:
            self._wanted(runs)
            rows = self.db.execute(query + " WHERE run IN (SELECT id FROM wanted)")
        return list(map(CaseRow._make, rows))

    def series(self, runs: Sequence[int], intervals: bool = False) -> list[CaseSeries]:
        """Every case over the runs of these ids, one column per figure (``intervals``: the
        speedups' too). Grouped by SQLite, not by Python: a history of every case over
        1,000 runs is 266,000 rows."""
        self._wanted(runs)
        extra = (
            ", group_concat(ifnull(speedup_low, '')), group_concat(ifnull(speedup_high, ''))"
            if intervals
            else ""
        )
        rows = self.db.execute(
            "SELECT scenario, model, workers, point, interpreter, group_concat(run), group_concat(median), "
            "group_concat(ifnull(speedup, '')), group_concat(ifnull(instructions, '')), group_concat(params)"
            f"{extra} FROM (SELECT * FROM cases WHERE run IN (SELECT id FROM wanted) ORDER BY run) "
            "GROUP BY scenario, model, workers, point, interpreter"
        )
        found = []
        for row in rows:
            scenario, model, workers, point, interpreter, ids, medians, speedups, instructions, params = row[
                :10
            ]
            found.append(
                CaseSeries(
                    scenario,
                    model,
                    workers,
                    point,
                    interpreter,
                    [int(r) for r in ids.split(",")],
                    [float(m) for m in medians.split(",")],
                    _numbers(speedups, float),
                    _numbers(instructions, int),
                    params.split(","),
                    *([_numbers(row[10], float), _numbers(row[11], float)] if intervals else []),
                )
            )
        return found

    def _wanted(self, runs: Sequence[int]) -> None:
        self.db.execute("CREATE TEMP TABLE IF NOT EXISTS wanted (id INTEGER PRIMARY KEY)")
        self.db.execute("DELETE FROM wanted")
        self.db.executemany("INSERT OR IGNORE INTO wanted VALUES (?)", [(i,) for i in runs])

    def probes(self, scenario: str) -> dict[int, float]:
        """Each run's (by its id) median single-core loop time during ``scenario`` (over
        the whole run where the scenario has no reading of its own)."""
        found: dict[int, float] = {}
        rows = self.db.execute(
            "SELECT run, scenario, single_s FROM probes WHERE scenario IN ('', ?) ORDER BY scenario",
            (scenario,),
        )
        for run, _, single in rows:
            found[run] = single  # the scenario's own reading comes last and wins
        return found

    def same_code_medians(self, base_run: Run, run: Run, m: Measurement) -> list[float]:
        """The medians of ``m``'s case (the same work, the same interpreter) in the other
        full runs of ``base_run``'s commit: how far runs of unchanged code spread."""
        if not base_run.commit:
            return []
        rows = self.db.execute(
            "SELECT cases.median FROM cases JOIN runs ON runs.id = cases.run "
            "WHERE runs.commit_id = ? AND runs.quick = 0 AND runs.path NOT IN (?, ?) "
            "AND scenario = ? AND model = ? AND workers IS ? AND point IS ? AND interpreter = ? "
            "AND params = ? AND cases.median > 0",
            (base_run.commit, str(base_run.path), str(run.path), *case_key(m)),
        )
        return [float(r[0]) for r in rows]


def _connect(path: Path) -> sqlite3.Connection | None:
    """A connection to an index of this version; one unreadable or of another version is
    replaced by an empty one (the next sync fills it). ``None``: it cannot be had here."""
    for _ in range(2):
        with contextlib.suppress(sqlite3.DatabaseError):
            db = sqlite3.connect(path, timeout=60, isolation_level=None)
            if _version(db) == VERSION:
                db.execute("PRAGMA foreign_keys = ON")
                return db
            db.close()
        _remove(path)
        with contextlib.suppress(sqlite3.DatabaseError):
            return _create(str(path))
        # Another command may have created it meanwhile: look again, once.
    return None


def _create(target: str) -> sqlite3.Connection:
    db = sqlite3.connect(target, timeout=60, isolation_level=None)
    db.execute("PRAGMA foreign_keys = ON")
    tables = _TABLES.replace("CREATE TABLE", "CREATE TABLE IF NOT EXISTS").replace(
        "CREATE INDEX", "CREATE INDEX IF NOT EXISTS"
    )
    db.executescript(
        f"BEGIN IMMEDIATE; {tables} INSERT OR REPLACE INTO meta VALUES ('version', '{VERSION}'); COMMIT;"
    )
    return db


def _version(db: sqlite3.Connection) -> int | None:
    try:
        row = db.execute("SELECT value FROM meta WHERE key = 'version'").fetchone()
    except sqlite3.DatabaseError:
        return None
    return int(row[0]) if row else None


def _remove(path: Path) -> None:
    for stale in (path, path.with_name(path.name + "-journal")):
        with contextlib.suppress(OSError):
            stale.unlink()


def updated(results: Path) -> None:
    """After a save: bring the index up to date (a cache: a failure here loses nothing)."""
    with contextlib.suppress(sqlite3.Error, OSError), Index.open(results):
        pass
