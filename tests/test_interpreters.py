"""Cases under several interpreters in one run: labels, failures, the pivot."""

from __future__ import annotations

import dataclasses
import glob
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from suite_cli import ROOT, WORKER_DEPENDENCIES, run_suite

from suite.errors import CaseFailed, ModelUnavailable
from suite.harness import executables, launcher
from suite.spec.cases import Case

# The fast lane (-m 'not slow') leaves this module out: every test starts workers under other interpreters
# or probes them.
pytestmark = pytest.mark.slow


def find_python(version: str) -> str | None:
    found = sorted(glob.glob(f"/root/.pyenv/versions/{version}*/bin/python3")) or [
        shutil.which(f"python{version}")
    ]
    return found[-1] if found and found[-1] else None


def venv_with_suite(tmp_path_factory: pytest.TempPathFactory, version: str) -> str:
    """A virtual environment of Python ``version`` with this suite and what a worker needs."""
    base = find_python(version)
    if base is None:
        pytest.skip(f"no Python {version} on this machine")
    venv = tmp_path_factory.mktemp(f"py{version}") / "venv"
    subprocess.run([base, "-m", "venv", str(venv)], check=True, timeout=120)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    try:
        subprocess.run([*pip, *WORKER_DEPENDENCIES], check=True, timeout=600, capture_output=True)
        subprocess.run([*pip, "--no-deps", str(ROOT)], check=True, timeout=300, capture_output=True)
    except subprocess.CalledProcessError as exc:
        pytest.skip(f"could not install the suite for Python {version}: {exc.stderr.decode()[-500:]}")
    return str(venv / "bin" / "python")


@pytest.fixture(scope="module")
def python313(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Another interpreter than this one, with subinterpreters and the fork warnings of
    3.12 and later: one virtual environment (about 10 s to build) serves every test."""
    return venv_with_suite(tmp_path_factory, "3.13")


CASE = Case(
    scenario="i",
    model="sequential",
    workers=1,
    kind="cpu",
    params={"tasks": 6, "iterations": 20000},
    rounds=2,
    warmup=1,
    timeout_s=60,
)


def test_subinterpreters_are_unavailable_before_313_with_the_reason() -> None:
    if sys.version_info >= (3, 13):
        pytest.skip("this interpreter has subinterpreters")
    with pytest.raises(
        ModelUnavailable, match=r"need Python 3\.13 or later; run the workers under one with --python"
    ):
        launcher.run_case(dataclasses.replace(CASE, model="interpreters", workers=2))


@pytest.mark.parametrize(
    ("kind", "params"),
    [
        ("cpu", {"tasks": 6, "iterations": 20000}),
        ("hash", {"tasks": 6, "bytes": 100_000, "repeat": 2}),
        ("sleep", {"tasks": 6, "latency_ms": 5}),
        ("compress", {"tasks": 6, "bytes": 50_000}),
        ("file", {"tasks": 6, "bytes": 50_000}),
        (
            "callable",
            {
                "tasks": 6,
                "target": "callables_for_tests:crunch",
                "kwargs": {"n": 1000},
                "index_arg": "index",
                "path": [str(Path(__file__).parent)],
            },
        ),
    ],
)
def test_subinterpreters_do_the_same_work(python313: str, kind: str, params: dict[str, Any]) -> None:
    case = dataclasses.replace(CASE, kind=kind, params=params)
    reference = launcher.run_case(case, python=python313)
    measured = launcher.run_case(dataclasses.replace(case, model="interpreters", workers=2), python=python313)
    assert measured.checksum == reference.checksum
    assert measured.env["python"].startswith("3.13")
    assert measured.startup_s > 0


def test_subinterpreters_refuse_kinds_without_a_pure_task(python313: str) -> None:
    http = dataclasses.replace(
        CASE, model="interpreters", workers=2, kind="http", params={"tasks": 2, "latency_ms": 1}
    )
    with pytest.raises(ModelUnavailable, match="no dependency-free task to run in a subinterpreter"):
        launcher.run_case(http, python=python313, endpoint={"url": "http://127.0.0.1:9"})


def test_probe_labels_this_interpreter() -> None:
    here = executables.probe(sys.executable)
    assert here.error is None
    assert here.label == f"cpython-{sys.version.split()[0]}"


def test_probe_of_something_that_is_not_python(tmp_path: Path) -> None:
    fake = tmp_path / "python9"
    fake.write_text("#!/bin/sh\nexit 3\n")
    fake.chmod(0o755)
    probed = executables.probe(str(fake))
    assert probed.error is not None
    assert "does not run as a Python interpreter" in probed.error


def test_one_run_under_two_interpreters(
    python313: str, write_scenario: Callable[..., Path], tmp_path: Path
) -> None:
    if sys.version_info[:2] == (3, 13):
        pytest.skip("the suite runs under 3.13 itself: two runs of one version tell nothing here")
    scenario = write_scenario(
        "workload: {kind: cpu, tasks: 4, iterations: 20000}\nmodels: [sequential, threads]\n"
        "workers: [2]\nrounds: 4\n",
        name="two.yaml",
    )
    done = run_suite(
        "run",
        str(scenario),
        "--python",
        python313,
        "--python",
        sys.executable,
        "--results",
        "res",
        "--save",
        "both",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout[-3000:]
    saved = json.loads(next((tmp_path / "res").glob("*/0001_both.json")).read_text())
    versions = sorted({b["extra_info"]["python"] for b in saved["benchmarks"]})
    assert len(versions) == 2
    assert any(v.startswith("3.13.") for v in versions)
    assert sys.version.split()[0] in versions
    assert {b["params"]["python"] for b in saved["benchmarks"]} == {f"cpython-{v}" for v in versions}
    assert len({b["extra_info"]["checksum"] for b in saved["benchmarks"]}) == 1
    # Speedup is against the sequential case of the same interpreter.
    assert all(b["extra_info"]["speedup"] for b in saved["benchmarks"])
    pivot = run_suite("compare", "both", "--by", "interpreter", "--results", "res", cwd=tmp_path, check=True)
    header = next(line for line in pivot.stdout.splitlines() if line.strip().startswith("case"))
    assert "cpython-3.13" in header
    assert f"cpython-{sys.version.split()[0]}" in header


@pytest.mark.parametrize("model", ["processes-fork", "multiprocessing-pool", "asyncio+processes"])
def test_fork_pools_on_312_and_later_raise_no_deprecation_warning(
    python313: str, model: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 3.12+ warns when fork() runs while other threads are alive; the models start their
    # processes before any thread of their own, and the warning would fail the worker here.
    monkeypatch.setenv("PYTHONWARNINGS", "error::DeprecationWarning")
    result = launcher.run_case(dataclasses.replace(CASE, model=model, workers=2), python=python313)
    assert result.start_method == "fork"
    assert result.env["python"].startswith("3.13")


@pytest.mark.parametrize(
    ("kind", "status", "reason"),
    [
        ("raise", "failed", "SubinterpreterError: InjectedFault: fault injected at task 2"),
        ("exit", "failed", "worker died (exit code 3)"),
        ("hang", "timeout", "timed out"),
    ],
)
@pytest.mark.usefixtures("short_grace")
def test_faults_inside_subinterpreters_fail_the_case(
    python313: str, kind: str, status: str, reason: str
) -> None:
    case = dataclasses.replace(
        CASE,
        model="interpreters",
        workers=2,
        params={**CASE.params, "fault": {"kind": kind, "at_task": 2}},
        timeout_s=0.5,
    )
    with pytest.raises(CaseFailed) as info:
        launcher.run_case(case, python=python313)
    assert info.value.status == status
    assert info.value.reason.startswith(reason), info.value.reason


@pytest.mark.skipif(sys.prefix == sys.base_prefix, reason="needs to run inside a virtual environment")
def test_the_binary_a_venv_was_made_from_is_not_that_venv() -> None:
    from suite.harness.executables import same_as_this

    base = Path(sys.base_prefix) / "bin" / Path(sys.executable).name
    if not base.exists() or os.path.realpath(base) != os.path.realpath(sys.executable):
        pytest.skip(f"{base} is not the binary this venv runs")
    assert same_as_this(sys.executable)
    assert not same_as_this(str(base))  # same binary, but without this venv's packages
