"""Saved runs: find them by number, name or path, and read them into measurements.

Files are pytest-benchmark's own (``results/<machine>/NNNN_<name>.json``); files written
by plain pytest-benchmark, without the suite's ``extra_info``, are read as well as they
allow: the group stands for the scenario and the benchmark's name for the model.
"""

from __future__ import annotations

import gzip
import json
import re
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, Strict, StrictStr, ValidationError

from suite.errors import SuiteError
from suite.results import machine
from suite.results.record import CaseRecord

RUN_FILE = re.compile(r"^(\d{4})_(.*)\.json$")
#: The name pytest-benchmark gives a run saved without a name: commit, date, time, and
#: whether the checkout had uncommitted changes (spelled both ways across its versions).
AUTOSAVED = re.compile(r"^([0-9a-f]{40}|unversioned)_(\d{8})_(\d{6})(_uncomm?itt?ed-changes)?$")
#: The longest ``--save`` name a label shows whole.
LABEL_CHARS = 24


class HistoryError(SuiteError):
    """A saved run cannot be found or read."""


Number = Annotated[float, Strict()]
#: What a field of the wrong type was expected to be, by pydantic's error type.
EXPECTED = {
    "dict_type": "expected an object",
    "model_type": "expected an object",
    "list_type": "expected a list",
    "float_type": "expected a number",
    "int_type": "expected an integer",
    "int_parsing": "expected an integer",
    "int_from_float": "expected an integer",
    "float_parsing": "expected a number",
    "bool_type": "expected true or false",
    "bool_parsing": "expected true or false",
    "literal_error": "expected one of its known values",
    "string_type": "expected a string",
    "missing": "missing",
}


class _Stats(BaseModel):
    """What the suite reads of pytest-benchmark's ``stats``."""

    model_config = ConfigDict(extra="allow")
    data: list[Number] = Field(default_factory=list)
    median: Number | None = None


class _Benchmark(BaseModel):
    model_config = ConfigDict(extra="allow")
    name: StrictStr = "?"
    group: StrictStr | None = None
    stats: _Stats = Field(default_factory=_Stats)
    extra_info: CaseRecord = Field(default_factory=CaseRecord)


class _Suite(BaseModel):
    """What the suite adds to pytest-benchmark's file (``suite``)."""

    model_config = ConfigDict(extra="allow")
    schema_version: int = 1
    #: Every case that began, with its status: the failed ones are only here.
    cases: list[CaseRecord] = Field(default_factory=list)
    complete: bool | None = None
    not_run: list[str] = Field(default_factory=list)
    #: Each scenario's description, by name.
    scenarios: dict[str, str | None] = Field(default_factory=dict)
    quick: bool = False
    capacity: dict[str, Any] | None = None
    ab: dict[str, Any] | None = None


class _RunFile(BaseModel):
    """The shape of a saved run, checked before anything reads it, so that a file of the
    wrong shape is one line naming the field rather than a traceback."""

    model_config = ConfigDict(extra="allow")
    benchmarks: list[_Benchmark]
    machine_info: dict[str, Any] | None = None
    datetime: StrictStr = ""
    commit_info: dict[str, Any] | None = None
    suite: _Suite | None = None


def _where(loc: Sequence[int | str]) -> str:
    """``benchmarks[3].stats.data[2]`` from pydantic's location tuple."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else str(part)
    return text


#: The version of the run file this suite writes (``suite.schema_version``). Version 1:
#: files written before the field existed (2026-11), read through :func:`migrate`.
SCHEMA_VERSION = 2


def schema_version(data: dict[str, Any]) -> Any:
    """The run file's ``suite.schema_version`` (1 for files written before it existed)."""
    suite = data.get("suite")
    return suite.get("schema_version", 1) if isinstance(suite, dict) else 1


def migrate(data: dict[str, Any]) -> dict[str, Any]:
    """A run file of an earlier version, as the current version holds it.

    Version 1 kept no ``schema_version`` and, in runs older still, no round's ``cycles``:
    an interleaved case's planned rounds ran in lockstep, one per cycle, so their
    position is their cycle (extra rounds, run later for uncertain cases only, get none).
    """
    if schema_version(data) == SCHEMA_VERSION:
        return data
    for bench in data["benchmarks"]:
        if not isinstance(bench, dict) or not isinstance(bench.get("stats"), dict):
            continue  # the shape check that follows names it
        info = bench.get("extra_info")
        rounds = bench["stats"].get("data")
        extra = info.get("extra_rounds") if isinstance(info, dict) else None
        if (
            isinstance(info, dict)
            and info.get("interleaved")
            and not info.get("cycles")
            and isinstance(rounds, list)
            and isinstance(extra, int | None)
        ):
            planned = len(rounds) - (extra or 0)
            info["cycles"] = list(range(planned))
            info["cycles_from_position"] = True
    if isinstance(data.get("suite"), dict):
        data["suite"]["schema_version"] = SCHEMA_VERSION
    return data


def run_schema() -> dict[str, Any]:
    """The JSON Schema of what the suite reads of a run file (``suite schema --run``)."""
    schema = _RunFile.model_json_schema()
    schema["title"] = f"concurrency-suite run file (schema_version {SCHEMA_VERSION})"
    return schema


def check_shape(path: Path, data: Any) -> _RunFile:
    """The run file's contents, typed; :class:`HistoryError` naming the file and the first
    field of the wrong shape if it has one."""
    try:
        return _RunFile.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        got = error.get("input")
        shown = repr(got) if isinstance(got, str | int | float | bool) or got is None else type(got).__name__
        raise HistoryError(
            f"{path}: {_where(error['loc'])}: {EXPECTED.get(error['type'], error['msg'])}, found {shown}; "
            "not a run this suite can read"
        ) from None


def case_label(model: str, workers: int | None, point: str | None) -> str:
    """A case's short name: ``threads-w4``, or with a serve load point ``threads-w4-open800``."""
    label = model if workers is None else f"{model}-w{workers}"
    return label if point is None else f"{label}-{point}"


@dataclass(frozen=True)
class Measurement:
    """One measured case of one saved run."""

    scenario: str
    model: str
    workers: int | None
    rounds: tuple[float, ...]
    median: float
    record: CaseRecord = field(default_factory=CaseRecord)
    #: The interpreter of the run's machine: for files that do not say what ran each case.
    machine_python: str = "unknown"

    @property
    def point(self) -> str | None:
        """A serve case's load point (``closed16``, ``open800``); ``None`` in batch mode."""
        return self.record.point

    @property
    def key(self) -> tuple[str, str, int | None, str | None]:
        return self.scenario, self.model, self.workers, self.point

    @property
    def label(self) -> str:
        return case_label(self.model, self.workers, self.point)

    @property
    def interpreter(self) -> str:
        """``cpython-3.13.0t (GIL off)``-style label of the interpreter that ran the case."""
        record = self.record
        if record.python is None:
            return self.machine_python
        return interpreter_label(
            record.implementation or "?", record.python, record.free_threaded, record.gil_enabled
        )


def interpreter_label(implementation: str, version: str, free_threaded: bool | None, gil: bool | None) -> str:
    label = f"{implementation.lower()}-{version}{'t' if free_threaded else ''}"
    if free_threaded:
        label += " (GIL on)" if gil else " (GIL off)"
    return label


@dataclass(frozen=True)
class Run:
    """One saved run of the suite (or of plain pytest-benchmark)."""

    path: Path
    number: str
    name: str
    datetime: str
    machine: dict[str, Any]
    measurements: tuple[Measurement, ...]
    #: Cases the suite began but could not measure (failed, timed out, interrupted,
    #: unavailable), each with its status and reason.
    unmeasured: tuple[CaseRecord, ...] = ()
    #: Whether every case ran to its end; ``None`` for files the suite did not write.
    complete: bool | None = None
    #: Cases never started because the run was interrupted.
    not_run: tuple[str, ...] = ()
    #: Each scenario's description, as the run saved it (the question comes first).
    descriptions: dict[str, str] = field(default_factory=dict)
    #: Whether the run was a ``--quick`` look (fewer, smaller tasks): not for comparing
    #: with full runs.
    quick: bool = False
    #: The capacity probe's readings: ``{"cpus": N, "readings": [...]}`` (empty before it).
    capacity: dict[str, Any] = field(default_factory=dict)
    #: The code that ran: commit id, ``+dirty`` with uncommitted changes; "" if unknown.
    commit: str = ""
    #: A ``suite ab`` run's sides, floor and pairs of processes; empty for other runs.
    ab: dict[str, Any] = field(default_factory=dict)

    @property
    def floor(self) -> float | None:
        """The practical floor a ``suite ab`` run was judged with."""
        value = self.ab.get("floor")
        return float(value) if isinstance(value, (int, float)) else None

    @property
    def probe_readings(self) -> list[dict[str, Any]]:
        return [r for r in self.capacity.get("readings") or () if isinstance(r, dict)]

    def capacity_warnings(self) -> list[str]:
        """Where the capacity probe saw the machine give less than it claims, or change."""
        return machine.warnings(self.probe_readings, self.capacity.get("cpus"))

    @property
    def label(self) -> str:
        """Short enough for a table heading or a chart's axis: the number and ``--save``
        name, or for an unnamed run its short commit and time (``0003 58542ba 12-02
        11:06``); the full identity is :attr:`identity`."""
        tag = AUTOSAVED.match(self.name)
        if tag is None:
            name = self.name if len(self.name) <= LABEL_CHARS else self.name[: LABEL_CHARS - 1] + "…"
            return f"{self.number} {name}".strip()
        commit, day, clock, dirty = tag.groups()
        short = "unversioned" if commit == "unversioned" else commit[:7] + ("+" if dirty else "")
        return f"{self.number} {short} {day[4:6]}-{day[6:]} {clock[:2]}:{clock[2:4]}".strip()

    @property
    def identity(self) -> str:
        """The file, the full commit (``+dirty``) and the time: where the short label is not enough."""
        return f"{self.path.name}; commit {self.commit or 'unknown'}; {self.datetime}"

    @property
    def scenarios(self) -> set[str]:
        """Every scenario the run began, measured or not."""
        return {m.scenario for m in self.measurements} | {str(c.scenario) for c in self.unmeasured}

    def warnings(self) -> list[str]:
        """What a reader of this run must know: it is incomplete, cases failed."""
        notes = []
        if self.complete is False:
            notes.append(
                f"{self.label}: incomplete run (interrupted); {len(self.not_run)} case(s) never started"
            )
        for case in self.unmeasured:
            if case.status == "unavailable":
                continue
            label = f"{case.model}-w{case.workers}"
            notes.append(f"{self.label} {case.scenario} {label}: {case.status}: {case.reason}")
        return notes

    def environment(self) -> dict[str, Any]:
        """The facts that make two runs comparable, or not."""
        m = self.machine
        cpu = m.get("cpu") or {}
        return {
            "machine": f"{m.get('node', '?')} ({cpu.get('brand_raw') or m.get('machine', '?')})",
            "cpu count": cpu.get("count") or m.get("usable_cpus"),
            "interpreter": interpreter_label(
                m.get("python_implementation", "?"),
                m.get("python_version", "?"),
                m.get("free_threaded"),
                m.get("gil_enabled"),
            ),
            "GIL enabled": m.get("gil_enabled", "unknown"),
        }

    def start_methods(self) -> list[str]:
        return sorted({x.record.start_method for x in self.measurements if x.record.start_method})


def _measurement(bench: _Benchmark, machine_python: str) -> Measurement:
    record, rounds = bench.extra_info, tuple(bench.stats.data)
    median = (
        bench.stats.median if bench.stats.median is not None else statistics.median(rounds) if rounds else 0.0
    )
    return Measurement(
        record.scenario or bench.group or "(no group)",
        record.model or bench.name,
        record.workers,
        rounds,
        float(median),
        record,
        machine_python,
    )


GZIP_MAGIC = b"\x1f\x8b"


def read_run(path: Path) -> Run:
    """A saved run, typed: the one place a run file is read."""
    try:
        raw = path.read_bytes()
        # A run kept in a repository may be gzipped (docs/findings/run-*.json.gz): the
        # raw rounds of every case make a full run several MiB of JSON.
        if raw[:2] == GZIP_MAGIC:
            raw = gzip.decompress(raw)
        data = json.loads(raw.decode("utf-8"))
    except (OSError, ValueError, EOFError) as exc:
        raise HistoryError(f"{path}: cannot read a saved run: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("benchmarks"), list):
        raise HistoryError(f"{path}: not a pytest-benchmark file (no 'benchmarks' list)")
    version = schema_version(data)
    if not isinstance(version, int) or version > SCHEMA_VERSION:
        raise HistoryError(
            f"{path}: suite.schema_version is {version!r}; this suite reads up to {SCHEMA_VERSION} "
            "(a newer suite wrote it: upgrade to read it)"
        )
    run = check_shape(path, migrate(data))
    match = RUN_FILE.match(path.name)
    number, name = (match.group(1), match.group(2)) if match else ("", path.stem)
    machine = run.machine_info or {}
    machine_python = interpreter_label(
        machine.get("python_implementation", "?"),
        machine.get("python_version", "?"),
        machine.get("free_threaded"),
        machine.get("gil_enabled"),
    )
    suite = run.suite
    return Run(
        path,
        number,
        name,
        run.datetime,
        machine,
        tuple(_measurement(b, machine_python) for b in run.benchmarks),
        tuple(c for c in suite.cases if not c.measured) if suite else (),
        suite.complete if suite else None,
        tuple(suite.not_run) if suite else (),
        {k: v for k, v in suite.scenarios.items() if v} if suite else {},
        suite.quick if suite else False,
        (suite.capacity if suite else None) or {},
        _commit(run.commit_info),
        (suite.ab if suite else None) or {},
    )


def _commit(info: Any) -> str:
    if not isinstance(info, dict) or not info.get("id"):
        return ""
    return str(info["id"]) + ("+dirty" if info.get("dirty") else "")


def saved_files(results: Path) -> list[Path]:
    return sorted(p for p in results.glob("*/*.json") if RUN_FILE.match(p.name))


def matches(spec: str, results: Path) -> list[Path]:
    """Every run file ``spec`` names: a number (``0003`` or ``3``), a name, or a path."""
    path = Path(spec)
    if path.name.endswith((".json", ".json.gz")) and path.exists():
        return [path]
    files = saved_files(results)
    if spec.isdigit():
        found = [p for p in files if p.name.startswith(f"{int(spec):04d}_")]
    else:
        found = [p for p in files if RUN_FILE.match(p.name).group(2) == spec or p.stem == spec]  # type: ignore[union-attr]
    if not found:
        known = ", ".join(p.stem for p in files[-10:]) or "none"
        raise HistoryError(f"no saved run {spec!r} under {results} (latest: {known})")
    return found


def resolve(spec: str, results: Path) -> Path:
    """A run's file from its number (``0003`` or ``3``), its name, or a path."""
    found = matches(spec, results)
    if len(found) > 1:
        raise HistoryError(f"{spec!r} matches several runs: {', '.join(map(str, found))}; give a path")
    return found[0]


def load_side(spec: str, results: Path) -> list[Run]:
    """One side of a comparison: ``1,2,3``, or a name several runs were saved under."""
    return [read_run(p) for part in spec.split(",") if part.strip() for p in matches(part.strip(), results)]


def load_history(results: Path) -> list[Run]:
    """Every readable saved run under ``results``, oldest first (unreadable ones are skipped)."""
    runs = []
    for path in saved_files(results):
        try:
            runs.append(read_run(path))
        except HistoryError:
            continue
    return runs


def load(specs: Sequence[str], results: Path) -> list[Run]:
    """The runs named by ``specs``, in that order; none named: the latest saved run."""
    if specs:
        return [read_run(resolve(spec, results)) for spec in specs]
    files = saved_files(results)
    if not files:
        raise HistoryError(f"no saved runs under {results}; run `suite run` first")
    runs = [read_run(p) for p in files]
    return [max(runs, key=lambda run: (run.datetime, run.path.stat().st_mtime))]
