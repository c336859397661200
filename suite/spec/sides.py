"""The two sides of an A/B comparison (``suite ab``): what each changes in a scenario.

A side may run the workers under another interpreter, set scenario keys
(``workload.iterations=460000``), or import a ``callable`` target from other folders (two
copies of the code, or two git revisions checked out as worktrees). Every scenario is
loaded once per side and validated as a whole, so a key a side sets wrongly is reported
like a mistake in the file, with the file, the line and the option that set it.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from suite.errors import Problem, ScenarioError
from suite.spec.scenario import Scenario, parse
from suite.spec.yamlload import load_document

#: Keys a side may set: the workload's (the cases of both sides must stay the same cases).
SETTABLE = "workload."


@dataclass(frozen=True)
class Side:
    """What one side of an A/B run changes; nothing: the scenario as written."""

    name: str
    #: The interpreter that runs this side's workers; ``None``: the one running the suite.
    python: str | None = None
    #: ``(key path, value)`` pairs set in every scenario, e.g. ``("workload.iterations", 460000)``.
    sets: tuple[tuple[str, Any], ...] = ()
    #: Folders a ``callable`` target is imported from instead of the scenario's own.
    callable_path: tuple[str, ...] = ()
    #: ``(folder, replacement)``: a ``callable`` path under ``folder`` is read under the
    #: replacement instead (a git revision checked out as a worktree).
    remap: tuple[tuple[str, str], ...] = ()
    #: What the side is, for people (``python3.13t``, ``rev 1a2b3c4``, ``iterations=460000``).
    label: str = ""
    #: Another scenario file this side runs instead (same cases; its name is the other's).
    file: str | None = None

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Side:
        raw = json.loads(text)
        raw["sets"] = tuple((str(k), v) for k, v in raw.get("sets", ()))
        raw["callable_path"] = tuple(raw.get("callable_path", ()))
        raw["remap"] = tuple((str(a), str(b)) for a, b in raw.get("remap", ()))
        return cls(**raw)


def parse_set(text: str) -> tuple[str, Any]:
    """``workload.iterations=460000`` as a key path and a YAML value; ``ValueError`` says why not."""
    key, sep, value = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ValueError(f"expected KEY=VALUE, e.g. workload.iterations=460000; got {text!r}")
    if not key.startswith(SETTABLE) or len(key) == len(SETTABLE):
        raise ValueError(
            f"{key!r}: a side may set workload keys only (workload.NAME), so both sides run the same cases"
        )
    try:
        return key, yaml.safe_load(value)
    except yaml.YAMLError as exc:
        raise ValueError(f"{text!r}: the value is not YAML: {exc}") from None


def _set(data: dict[str, Any], key: str, value: Any) -> None:
    *parents, last = key.split(".")
    node = data
    for part in parents:
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    node[last] = value


def load(path: Path, side: Side) -> Scenario:
    """The scenario at ``path`` as ``side`` runs it.

    :raises ScenarioError: the file, or a key the side sets, is invalid (the message
        names the side and what it set)
    """
    doc = load_document(Path(side.file) if side.file else path)
    if side.file:  # the same scenario written another way: named as the other side's, to pair
        doc.data["name"] = load_document(path).data.get("name", path.stem)
    for key, value in side.sets:
        _set(doc.data, key, value)
    try:
        scenario = parse(doc, path)
    except ScenarioError as exc:
        if not side.sets:
            raise
        sets = ", ".join(f"{k}={v!r}" for k, v in side.sets)
        raise ScenarioError(
            [
                dataclasses.replace(p, message=f"{p.message} (side {side.name} sets {sets})")
                for p in exc.problems
            ]
        ) from exc
    return _with_code(scenario, side)


def _with_code(scenario: Scenario, side: Side) -> Scenario:
    """A ``callable`` scenario importing its target from the side's folders."""
    if scenario.kind != "callable" or not (side.callable_path or side.remap):
        return scenario
    paths: Sequence[str] = getattr(scenario.params, "path", ())
    if side.callable_path:
        paths = [str(Path(p).resolve()) for p in side.callable_path]
    for folder, replacement in side.remap:
        paths = [
            str(Path(replacement) / Path(p).relative_to(folder)) if Path(p).is_relative_to(folder) else p
            for p in paths
        ]
    missing = [p for p in paths if not Path(p).is_dir()]
    if missing:
        raise ScenarioError(
            [Problem(str(scenario.path), None, "workload.path", f"side {side.name}: no folder {missing[0]}")]
        )
    return dataclasses.replace(scenario, params=scenario.params.model_copy(update={"path": list(paths)}))
