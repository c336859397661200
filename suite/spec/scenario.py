"""Scenario files: parse, validate strictly, and describe the format as JSON Schema."""

from __future__ import annotations

import difflib
import sys
import typing
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal, Self, Union, cast

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    create_model,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails

from suite.errors import Problem, ScenarioError
from suite.spec import registry
from suite.spec.claims import CLAIMS
from suite.spec.yamlload import Document, KeyPath, load_document
from suite.workloads import WorkloadParams

NAME_PATTERN = r"^[a-z0-9][a-z0-9-]*$"
#: Serve mode: most connections one load point may hold, and the highest rate it may ask.
MAX_CONNECTIONS = 20_000
MAX_RATE_RPS = 200_000.0
#: Serve mode: distinct requests (task indexes) the generator cycles through, unless the
#: workload sets `tasks`.
SERVE_TASKS = 64
DEFAULT_WORKERS = (1, 2, 4, 8)
SUFFIXES = (".yaml", ".yml")

Workers = Annotated[int, Field(ge=1, le=100_000)]


class DaskOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    address: str = Field(pattern=r"^(tcp|tls|inproc|ucx)://\S+$", description="an existing scheduler")


class ClosedLoad(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    connections: list[Annotated[int, Field(ge=1, le=MAX_CONNECTIONS)]] = Field(
        min_length=1, description="load points: connections, each sending its next request on an answer"
    )


class OpenLoad(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    rates_rps: list[Annotated[float, Field(gt=0, le=MAX_RATE_RPS)]] = Field(
        min_length=1, description="load points: requests per second, sent whatever the answers do"
    )
    arrival: Literal["constant", "poisson"] = Field(
        default="poisson", description="evenly spaced sends, or a Poisson process"
    )
    connections: int = Field(
        default=512, ge=1, le=MAX_CONNECTIONS, description="most connections the generator opens"
    )


class LoadFields(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    closed: ClosedLoad | None = Field(default=None, description="closed-loop load points (wrk's way)")
    open: OpenLoad | None = Field(default=None, description="open-loop load points (wrk2's way)")
    duration_s: float = Field(default=3.0, gt=0, le=600, description="measured window per load point")
    warmup_s: float = Field(default=0.5, ge=0, le=60, description="load before the window, not measured")
    timeout_s: float = Field(default=10.0, gt=0, le=600, description="limit for one request")

    @model_validator(mode="after")
    def _some_load(self) -> Self:
        if self.closed is None and self.open is None:
            raise ValueError("give `closed`, `open` or both")
        return self


class SloFields(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    p99_ms: float = Field(gt=0, le=600_000, description="the 99th-percentile latency a load point must meet")


class Expectation(BaseModel):
    """What a scenario asserts of its own results: ``model`` against ``than``, judged from
    their paired rounds (:mod:`suite.results.expectations`); ``suite run
    --check-expectations`` exits 1 when one is false here."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    model: str = Field(description="the model the expectation is about")
    than: str = Field(description="the model it is measured against")
    workers: int | None = Field(
        default=None, ge=1, description="only at this worker count of `model`; default: every count"
    )
    at_least: float | None = Field(
        default=None,
        gt=0,
        le=10_000,
        description="`model` is at least this many times as fast as `than` (1.5: rounds in 1/1.5 the time)",
    )
    within: float | None = Field(
        default=None,
        gt=0,
        le=10,
        description="`model`'s rounds take within this fraction of `than`'s (0.1: 10%)",
    )

    @model_validator(mode="after")
    def _one_test(self) -> Self:
        if (self.at_least is None) == (self.within is None):
            raise ValueError(
                "give exactly one of at_least (x times as fast) or within (a fraction either way)"
            )
        return self

    def __str__(self) -> str:
        who = self.model if self.workers is None else f"{self.model}-w{self.workers}"
        if self.at_least is not None:
            return f"{who} at least x{self.at_least:g} as fast as {self.than}"
        assert self.within is not None
        return f"{who} within {self.within * 100:g}% of {self.than}"


class Feed(BaseModel):
    """A claim this scenario feeds, and in which role (:mod:`suite.spec.claims`)."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    claim: str = Field(description="a claim of `suite findings` (see suite.spec.claims)")
    role: str = Field(description="the part this scenario plays in it")
    label: str | None = Field(default=None, max_length=80, description="a few words for the evidence line")
    order: int = Field(default=0, ge=0, le=1000, description="where its evidence stands among the role's")


class ScenarioFields(BaseModel):
    """The top level of a scenario file; ``workload`` is checked by its kind's own model."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    name: str | None = Field(
        default=None, pattern=NAME_PATTERN, max_length=64, description="default: the file's stem"
    )
    description: str | None = Field(default=None, max_length=2000)
    workload: dict[str, Any] = Field(description="`kind` plus that kind's parameters")
    models: list[str] | None = Field(
        default=None,
        min_length=1,
        description="model names; default: every model available here (processes-shm only when named)",
    )
    workers: list[Workers] | None = Field(
        default=None, min_length=1, description=f"concurrency levels; default {list(DEFAULT_WORKERS)}"
    )
    rounds: int = Field(default=5, ge=1, le=1000, description="measured rounds per case")
    warmup: int = Field(default=1, ge=0, le=100, description="unmeasured rounds first")
    timeout_s: float = Field(default=60.0, gt=0, le=3600, description="limit for one round")
    dask: DaskOptions | None = Field(default=None, description="where the dask model finds its cluster")
    max_rounds: int | None = Field(
        default=None,
        ge=1,
        le=1000,
        description="rounds a case may get while its figure is uncertain; default: twice `rounds`",
    )
    precision_pct: float = Field(
        default=3.0,
        gt=0,
        le=100,
        description="more rounds until the 95% interval of a case's median round is within this many percent",
    )
    budget_s: float | None = Field(
        default=None,
        ge=0,
        le=86400,
        description="seconds the extra rounds may take; default: a quarter of the planned rounds' time",
    )
    interleave: bool = Field(
        default=True,
        description="run the cases' rounds side by side in shuffled cycles (false: each case alone, in turn)",
    )
    native_threads: int | str | None = Field(
        default=None,
        description="threads each native pool (BLAS, OpenMP) may use in every process of a case: "
        "N, or auto (usable CPUs // workers, at least 1, as joblib's loky does); default: as the "
        "library sets it",
    )

    @field_validator("native_threads")
    @classmethod
    def _native_threads(cls, value: int | str | None) -> int | str | None:
        if value is None or value == "auto" or (isinstance(value, int) and 1 <= value <= 1024):
            return value
        raise ValueError("expected a number of threads from 1 to 1024, or auto")

    mode: Literal["batch", "serve"] = Field(
        default="batch",
        description="batch: rounds of `tasks` tasks; serve: each model as a web server under load",
    )
    load: LoadFields | None = Field(default=None, description="serve mode: the load points")
    slo: SloFields | None = Field(default=None, description="serve mode: the latency objective")
    fanout: int = Field(default=1, ge=1, le=1000, description="serve mode: tasks (backend calls) per request")
    feeds: list[Feed] = Field(
        default_factory=list,
        description="the claims of `suite findings` this scenario feeds, and in which role",
    )
    expect: list[Expectation] = Field(
        default_factory=list,
        description="what the results should show, e.g. {model: processes, than: threads, at_least: 1.5}; "
        "suite run --check-expectations exits 1 when one is false here",
    )


@dataclass(frozen=True)
class Scenario:
    """A validated scenario file."""

    path: Path
    name: str
    description: str
    kind: str
    params: WorkloadParams
    models: tuple[str, ...] | None
    workers: tuple[int, ...]
    rounds: int
    warmup: int
    timeout_s: float
    dask_address: str | None = None
    interleave: bool = True
    max_rounds: int = 0
    precision_pct: float = 3.0
    budget_s: float | None = None
    mode: str = "batch"
    load: LoadFields | None = None
    slo_p99_ms: float | None = None
    fanout: int = 1
    native_threads: int | str | None = None
    expect: tuple[Expectation, ...] = ()
    feeds: tuple[Feed, ...] = ()
    lines: dict[KeyPath, int] = field(default_factory=dict, compare=False, repr=False)


def _expected_found(error: ErrorDetails) -> str:
    message = error["msg"]
    if error["type"] == "missing":
        return "required key is missing"
    if error["type"] == "extra_forbidden":
        return "unknown key"
    return f"{message[0].lower()}{message[1:]}; found {error['input']!r}"


def _keys_at(model: type[BaseModel], loc: Sequence[Any]) -> list[str]:
    """The keys valid where ``loc`` points inside ``model`` (nested models followed)."""
    for key in loc:
        if isinstance(key, int):
            continue
        found = model.model_fields.get(str(key))
        if found is None:
            return []
        args = typing.get_args(found.annotation) or (found.annotation,)
        nested = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
        if not nested:
            return []
        model = nested[0]
    return list(model.model_fields)


def _problems(
    doc: Document, exc: ValidationError, prefix: KeyPath, model: type[BaseModel], extra: Iterable[str] = ()
) -> list[Problem]:
    problems = []
    for error in exc.errors():
        path = prefix + tuple(error["loc"])
        message = _expected_found(error)
        if error["type"] == "extra_forbidden":
            inner = error["loc"][:-1]
            allowed = [*(extra if not inner else ()), *_keys_at(model, inner)]
            close = difflib.get_close_matches(str(path[-1]), list(allowed), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            message = f"unknown key{hint} (valid keys: {', '.join(sorted(allowed))})"
        problems.append(doc.problem(path, message))
    return problems


def _check_names(
    doc: Document, values: Sequence[Any] | None, key: str, valid: Sequence[Any], what: str = "model"
) -> Iterator[Problem]:
    seen: set[Any] = set()
    for i, value in enumerate(values or ()):
        if not isinstance(value, str | int):
            continue  # a wrong type, which the field's validation reports
        if valid and value not in valid:
            close = difflib.get_close_matches(str(value), [str(v) for v in valid], n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            yield doc.problem((key, i), f"unknown {what} {value!r}; {hint}valid: {', '.join(valid)}")
        if value in seen:
            yield doc.problem((key, i), f"{value!r} is listed twice")
        seen.add(value)


def _expectation_problems(doc: Document, serve: bool) -> list[Problem]:
    """Expectations about a model the scenario does not run (or that does not exist)."""
    expect = doc.data.get("expect")
    if not isinstance(expect, list):
        return []
    if serve:
        return [doc.problem(("expect",), "`expect` applies to batch scenarios (mode: batch) only")]
    listed = doc.data.get("models")
    valid = [str(m) for m in listed] if isinstance(listed, list) else list(registry.runners())
    problems = []
    for i, item in enumerate(expect):
        for key in ("model", "than"):
            name = item.get(key) if isinstance(item, dict) else None
            if isinstance(name, str) and name not in valid:
                close = difflib.get_close_matches(name, valid, n=1)
                hint = f"did you mean {close[0]!r}? " if close else ""
                where = "the scenario's models" if isinstance(listed, list) else "the models"
                problems.append(
                    doc.problem(
                        ("expect", i, key), f"{name!r} is not among {where}; {hint}valid: {', '.join(valid)}"
                    )
                )
    return problems


def _feed_problems(doc: Document) -> list[Problem]:
    """Feeds that name a claim or a role the findings do not know."""
    feeds = doc.data.get("feeds")
    if not isinstance(feeds, list):
        return []
    problems = []
    for i, item in enumerate(feeds):
        if not isinstance(item, dict) or not isinstance(item.get("claim"), str):
            continue
        claim = CLAIMS.get(item["claim"])
        if claim is None:
            close = difflib.get_close_matches(item["claim"], list(CLAIMS), n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            problems.append(
                doc.problem(
                    ("feeds", i, "claim"),
                    f"unknown claim {item['claim']!r}; {hint}valid: {', '.join(CLAIMS)}",
                )
            )
        elif isinstance(item.get("role"), str) and item["role"] not in claim.roles:
            problems.append(
                doc.problem(
                    ("feeds", i, "role"),
                    f"{item['claim']} has no role {item['role']!r}; valid: {', '.join(claim.roles)}",
                )
            )
    return problems


def _mode_problems(doc: Document) -> list[Problem]:
    """Serve-only keys in a batch scenario, or a serve scenario without its load."""
    mode = doc.data.get("mode", "batch")
    if mode == "serve":
        if "load" not in doc.data:
            return [doc.problem(("mode",), "mode: serve needs `load` (closed and/or open load points)")]
        return []
    return [
        doc.problem((key,), f"`{key}` only applies with mode: serve")
        for key in ("load", "slo", "fanout")
        if key in doc.data
    ]


def _workload(doc: Document, raw: dict[str, Any]) -> tuple[str, WorkloadParams]:
    kinds = registry.workloads()
    kind = raw.get("kind")
    if kind is None:
        raise ScenarioError(
            [doc.problem(("workload",), f"`kind` is missing; expected one of: {', '.join(kinds)}")]
        )
    if not isinstance(kind, str):
        raise ScenarioError(
            [doc.problem(("workload", "kind"), f"expected one of: {', '.join(kinds)}; found {kind!r}")]
        )
    if kind not in kinds:
        close = difflib.get_close_matches(str(kind), list(kinds), n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise ScenarioError(
            [
                doc.problem(
                    ("workload", "kind"),
                    f"unknown workload kind {kind!r}; {hint}expected one of: {', '.join(kinds)}",
                )
            ]
        )
    params_model = kinds[kind].Params
    try:
        params = params_model.model_validate({k: v for k, v in raw.items() if k != "kind"})
    except ValidationError as exc:
        raise ScenarioError(_problems(doc, exc, ("workload",), params_model, ["kind"])) from exc
    params = params.bind_to(Path(doc.file).parent)
    found = [doc.problem(("workload", key), message) for key, message in params.problems()]
    if found:
        raise ScenarioError(found)
    return kind, params


def parse(doc: Document, path: Path) -> Scenario:
    """Validate a parsed document; every mistake found is in the :class:`ScenarioError`."""
    problems: list[Problem] = []
    try:
        top: ScenarioFields | None = ScenarioFields.model_validate(doc.data)
    except ValidationError as exc:
        top = None
        problems += _problems(doc, exc, (), ScenarioFields)
    # Check names and the workload from the raw data too, so one pass reports everything.
    models, workers, raw_workload = (doc.data.get(k) for k in ("models", "workers", "workload"))
    serve = doc.data.get("mode") == "serve"
    problems += _mode_problems(doc)
    if isinstance(models, list):
        valid = registry.servers() if serve else registry.runners()
        what = "server model (mode: serve)" if serve else "model"
        problems += _check_names(doc, models, "models", list(valid), what)
    if isinstance(workers, list):
        problems += _check_names(doc, workers, "workers", [])
    problems += _expectation_problems(doc, serve)
    problems += _feed_problems(doc)
    kind, params = "", None
    if isinstance(raw_workload, dict):
        if serve:  # requests cycle through `tasks` indexes; a serve scenario need not say
            raw_workload = {"tasks": SERVE_TASKS, **raw_workload}
        try:
            kind, params = _workload(doc, raw_workload)
        except ScenarioError as exc:
            problems += exc.problems
    if problems or top is None or params is None:
        raise ScenarioError(sorted(problems, key=lambda p: p.line or 0))
    return Scenario(
        path=path,
        name=top.name or path.stem,
        description=(top.description or "").strip(),
        kind=kind,
        params=params,
        models=tuple(top.models) if top.models else None,
        workers=tuple(top.workers or DEFAULT_WORKERS),
        rounds=top.rounds,
        warmup=top.warmup,
        timeout_s=top.timeout_s,
        dask_address=top.dask.address if top.dask else None,
        interleave=top.interleave,
        max_rounds=top.max_rounds if top.max_rounds is not None else 2 * top.rounds,
        precision_pct=top.precision_pct,
        budget_s=top.budget_s,
        mode=top.mode,
        load=top.load,
        slo_p99_ms=top.slo.p99_ms if top.slo else None,
        fanout=top.fanout,
        native_threads=top.native_threads,
        expect=tuple(top.expect),
        feeds=tuple(top.feeds),
        lines=doc._lines,
    )


def load(path: Path) -> Scenario:
    """Load and validate one scenario file."""
    return parse(load_document(path), path)


def expand_paths(paths: Iterable[Path]) -> list[Path]:
    """Scenario files named directly, plus the ``*.yaml``/``*.yml`` files in named folders."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files += sorted(p for p in path.iterdir() if p.suffix in SUFFIXES and p.is_file())
        else:
            files.append(path)
    return files


def load_reporting(paths: Iterable[Path]) -> tuple[list[Scenario], bool]:
    """The good scenarios under ``paths``, and whether there were no problems; each problem
    is printed to stderr (file, line, key and what was expected)."""
    scenarios, problems = load_all(paths)
    for problem in problems:
        print(problem, file=sys.stderr)
    return scenarios, not problems


def load_all(paths: Iterable[Path]) -> tuple[list[Scenario], list[Problem]]:
    """Load every scenario under ``paths``; good ones and every problem of the bad ones."""
    scenarios: list[Scenario] = []
    problems: list[Problem] = []
    by_name: dict[str, Path] = {}
    paths = list(paths)
    for folder in (p for p in paths if p.is_dir() and not expand_paths([p])):
        problems.append(Problem(str(folder), None, "", "the folder holds no scenario files (*.yaml, *.yml)"))
    for path in expand_paths(paths):
        if not path.exists():
            problems.append(Problem(str(path), None, "", "no such file or folder"))
            continue
        try:
            scenario = load(path)
        except ScenarioError as exc:
            problems += exc.problems
            continue
        if scenario.name in by_name:
            line = scenario.lines.get(("name",))
            problems.append(
                Problem(
                    str(path),
                    line,
                    "name",
                    f"scenario name {scenario.name!r} is also used by {by_name[scenario.name]}",
                )
            )
            continue
        by_name[scenario.name] = path
        scenarios.append(scenario)
    return scenarios, problems


def json_schema() -> dict[str, Any]:
    """A JSON Schema (draft 2020-12) of the scenario format, for editors."""
    variants: list[Any] = [
        create_model(
            f"{kind.capitalize()}Workload",
            __base__=cls.Params,
            kind=(cast(Any, Literal[kind]), Field(description=cls.summary)),
        )
        for kind, cls in registry.workloads().items()
    ]
    # Batch models and serve mode's server models (which `mode` picks is checked on load).
    model_name: Any = Literal[tuple(dict.fromkeys([*registry.runners(), *registry.servers()]))]
    workload_union: Any = Annotated[Union[tuple(variants)], Field(discriminator="kind")]  # noqa: UP007
    schema_model: Any = create_model(
        "Scenario",
        __base__=ScenarioFields,
        workload=(workload_union, ...),
        models=(cast(Any, list[model_name] | None), Field(default=None, min_length=1)),
    )
    schema: dict[str, Any] = TypeAdapter(schema_model).json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Concurrency suite scenario"
    return schema
