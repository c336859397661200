"""Scenario files: parse, validate strictly, and describe the format as JSON Schema."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal, Union, cast

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, create_model
from pydantic_core import ErrorDetails

from suite.errors import Problem, ScenarioError
from suite.spec import registry
from suite.spec.yamlload import Document, KeyPath, load_document
from suite.workloads import WorkloadParams

NAME_PATTERN = r"^[a-z0-9][a-z0-9-]*$"
DEFAULT_WORKERS = (1, 2, 4, 8)
SUFFIXES = (".yaml", ".yml")

Workers = Annotated[int, Field(ge=1, le=100_000)]


class DaskOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    address: str = Field(pattern=r"^(tcp|tls|inproc|ucx)://\S+$", description="an existing scheduler")


class ScenarioFields(BaseModel):
    """The top level of a scenario file; ``workload`` is checked by its kind's own model."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    name: str | None = Field(
        default=None, pattern=NAME_PATTERN, max_length=64, description="default: the file's stem"
    )
    description: str | None = Field(default=None, max_length=2000)
    workload: dict[str, Any] = Field(description="`kind` plus that kind's parameters")
    models: list[str] | None = Field(
        default=None, min_length=1, description="model names; default: every model available here"
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
    lines: dict[KeyPath, int] = field(default_factory=dict, compare=False, repr=False)


def _expected_found(error: ErrorDetails) -> str:
    message = error["msg"]
    if error["type"] == "missing":
        return "required key is missing"
    if error["type"] == "extra_forbidden":
        return "unknown key"
    return f"{message[0].lower()}{message[1:]}; found {error['input']!r}"


def _problems(doc: Document, exc: ValidationError, prefix: KeyPath, allowed: Iterable[str]) -> list[Problem]:
    problems = []
    for error in exc.errors():
        path = prefix + tuple(error["loc"])
        message = _expected_found(error)
        if error["type"] == "extra_forbidden":
            close = difflib.get_close_matches(str(path[-1]), list(allowed), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            message = f"unknown key{hint} (valid keys: {', '.join(sorted(allowed))})"
        problems.append(doc.problem(path, message))
    return problems


def _check_names(
    doc: Document, values: Sequence[Any] | None, key: str, valid: Sequence[Any]
) -> Iterator[Problem]:
    seen: set[Any] = set()
    for i, value in enumerate(values or ()):
        if not isinstance(value, str | int):
            continue  # a wrong type, which the field's validation reports
        if valid and value not in valid:
            close = difflib.get_close_matches(str(value), [str(v) for v in valid], n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            yield doc.problem((key, i), f"unknown model {value!r}; {hint}valid: {', '.join(valid)}")
        if value in seen:
            yield doc.problem((key, i), f"{value!r} is listed twice")
        seen.add(value)


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
        raise ScenarioError(_problems(doc, exc, ("workload",), ["kind", *params_model.model_fields])) from exc
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
        problems += _problems(doc, exc, (), ScenarioFields.model_fields)
    # Check names and the workload from the raw data too, so one pass reports everything.
    models, workers, raw_workload = (doc.data.get(k) for k in ("models", "workers", "workload"))
    if isinstance(models, list):
        problems += _check_names(doc, models, "models", list(registry.runners()))
    if isinstance(workers, list):
        problems += _check_names(doc, workers, "workers", [])
    kind, params = "", None
    if isinstance(raw_workload, dict):
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
    model_name: Any = Literal[tuple(registry.runners())]
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
