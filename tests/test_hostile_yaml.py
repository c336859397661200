"""Hostile and random scenario files: refused quickly, cheaply, and always with the
suite's own validation error, never a crash of the parser or the validator."""

from __future__ import annotations

import time
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from suite.errors import ScenarioError
from suite.spec import registry, scenario
from suite.spec.yamlload import MAX_BYTES

BILLION_LAUGHS = """
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
workload: *i
"""


def refused_cheaply(path: Path) -> tuple[ScenarioError, float, int]:
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(ScenarioError) as info:
            scenario.load(path)
    finally:
        elapsed = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return info.value, elapsed, peak


def test_alias_bomb_is_refused_while_parsing_in_milliseconds(tmp_path: Path) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(BILLION_LAUGHS)
    error, elapsed, peak = refused_cheaply(path)
    assert "aliases" in str(error)
    assert f"{path}:3" in str(error)  # the first alias, not the expanded document
    assert elapsed < 0.5
    assert peak < 5 * 2**20


@pytest.mark.parametrize("opening", ["[", "{a: ", "- "])
def test_very_deep_nesting_gives_no_recursion_error(tmp_path: Path, opening: str) -> None:
    path = tmp_path / "deep.yaml"
    levels = (MAX_BYTES - 100) // len(opening)
    if opening == "- ":  # block sequences nest by indentation instead
        path.write_text("".join("  " * i + "-\n" for i in range(60)))
    else:
        path.write_text("workload: " + opening * levels)
    error, elapsed, _ = refused_cheaply(path)
    assert "nesting deeper" in str(error) or "too many nested brackets" in str(error)
    assert elapsed < 2


def test_file_past_the_size_cap_is_not_read(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    with path.open("wb") as fh:
        fh.truncate(2 * 2**30)  # 2 GiB, sparse
    error, elapsed, peak = refused_cheaply(path)
    assert "larger than" in str(error)
    assert elapsed < 0.5
    assert peak < 2**20


def test_fault_with_an_unknown_kind_lists_the_kinds(tmp_path: Path) -> None:
    path = tmp_path / "f.yaml"
    path.write_text(
        "name: f\nworkload:\n  kind: cpu\n  tasks: 2\n  iterations: 5\n  fault: {kind: explode}\n"
    )
    with pytest.raises(ScenarioError) as info:
        scenario.load(path)
    message = str(info.value)
    assert f"{path}:6: workload.fault.kind" in message
    assert "'raise', 'exit', 'crash', 'hang', 'block' or 'ignore_cancel'" in message


KEYS = ["name", "description", "workload", "models", "workers", "rounds", "warmup", "timeout_s", "dask"]
WORKLOAD_KEYS = ["kind", "tasks", "iterations", "size", "latency_ms", "latency", "fault", "at_task", "repeat"]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**15), max_value=10**15),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from([*registry.workloads(), *registry.runners(), "raise", "hang"]),
)
values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(KEYS + WORKLOAD_KEYS) | st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=25,
)
documents = st.one_of(
    values,
    st.fixed_dictionaries(
        {
            "workload": st.fixed_dictionaries(
                {"kind": st.sampled_from(list(registry.workloads()))},
                optional=dict.fromkeys([k for k in WORKLOAD_KEYS if k != "kind"], values),
            )
        },
        optional=dict.fromkeys([k for k in KEYS if k != "workload"], values),
    ),
)


def load_text(tmp_path: Path, data: bytes) -> Any:
    path = tmp_path / "fuzz.yaml"
    path.write_bytes(data)
    try:
        return scenario.load(path)
    except ScenarioError as exc:
        error = exc
    assert error.problems
    assert all(p.file == str(path) for p in error.problems)
    return error


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(document=documents)
def test_random_documents_only_ever_give_the_suites_validation_error(tmp_path: Path, document: Any) -> None:
    load_text(tmp_path, yaml.safe_dump(document, allow_unicode=True).encode())


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_random_bytes_only_ever_give_the_suites_validation_error(tmp_path: Path, data: bytes) -> None:
    load_text(tmp_path, data)


@pytest.mark.parametrize(
    ("workload", "key"),
    [
        ("kind: sleep\n  tasks: 2\n  latency_ms: 86400000", "workload.latency_ms"),  # a day
        ("kind: http\n  tasks: 2\n  latency_ms: 86400000", "workload.latency_ms"),
        ("kind: http\n  tasks: 2\n  latency_ms: 1\n  body_bytes: 1000000000000000", "workload.body_bytes"),
        ("kind: hash\n  tasks: 2\n  bytes: 1000000000000000", "workload.bytes"),
        ("kind: compress\n  tasks: 2\n  bytes: 1000000000000000", "workload.bytes"),
        ("kind: file\n  tasks: 2\n  bytes: 1000000000000000", "workload.bytes"),
        ("kind: cpu\n  tasks: 1000000000000\n  iterations: 1", "workload.tasks"),
    ],
)
def test_absurd_sizes_are_refused_with_path_and_line(tmp_path: Path, workload: str, key: str) -> None:
    path = tmp_path / "absurd.yaml"
    path.write_text(f"name: absurd\nworkload:\n  {workload}\n")
    with pytest.raises(ScenarioError) as info:
        scenario.load(path)
    [problem] = info.value.problems
    assert problem.path == key
    assert problem.line is not None
    assert problem.line >= 3
    assert "less than or equal to" in problem.message
