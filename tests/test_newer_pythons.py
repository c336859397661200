"""The newest interpreters, run for real: a free-threaded 3.13t, 3.14 and 3.15 beside this one.

The interpreters are found on PATH (``python3.13t``, ``python3.14``, ``python3.15``) or
named in ``SUITE_TEST_PYTHONS`` (paths separated by ``:``); each test skips with the
reason when none is there. Each one gets a virtual environment with what a worker
imports (and not uvloop, so that a model whose dependency is missing is seen to be
reported unavailable, not to crash).
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from suite_cli import ROOT, WORKER_DEPENDENCIES, run_suite

from suite.spec import registry

NAMES = ("python3.13t", "python3.14", "python3.15")
#: The newest pydantic-core may have no free-threaded wheel, and building it needs Rust:
#: take the newest release that has one.
ONLY_BINARY = "--only-binary=pydantic-core"


def found_pythons() -> list[str]:
    named = [p for p in os.environ.get("SUITE_TEST_PYTHONS", "").split(os.pathsep) if p]
    on_path = [found for name in NAMES if (found := shutil.which(name))]
    return list(dict.fromkeys(os.path.realpath(p) for p in [*named, *on_path] if os.access(p, os.X_OK)))


PYTHONS = found_pythons()
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not PYTHONS,
        reason="no python3.13t, python3.14 or python3.15 on PATH and none in SUITE_TEST_PYTHONS "
        "(../shared/tools/pythons/ installs them; see the README)",
    ),
]


def facts(python: str) -> dict[str, Any]:
    code = (
        "import json, platform, sys, sysconfig; print(json.dumps({'version': platform.python_version(), "
        "'free_threaded': bool(sysconfig.get_config_var('Py_GIL_DISABLED')), 'prefix': sys.base_prefix}))"
    )
    done = subprocess.run([python, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    return dict(json.loads(done.stdout))


def make_venv(base: str, where: Path) -> str:
    """A virtual environment of ``base`` with pip: Debian's builds have no ensurepip wheel
    where venv looks, so pip comes from the wheel Debian ships beside the interpreter."""
    made = subprocess.run([base, "-m", "venv", str(where)], capture_output=True, text=True, timeout=300)
    python = str(where / "bin" / "python")
    if made.returncode != 0:
        shutil.rmtree(where, ignore_errors=True)
        subprocess.run([base, "-m", "venv", "--without-pip", str(where)], check=True, timeout=120)
        wheels = glob.glob(f"{facts(base)['prefix']}/share/python-wheels/pip-*.whl")
        if not wheels:
            pytest.skip(
                f"{base} makes no venv with pip ({made.stderr.strip()[-300:]}) and ships no pip wheel"
            )
        subprocess.run([python, f"{wheels[0]}/pip", "install", "-q", "pip"], check=True, timeout=300)
    return python


@pytest.fixture(scope="module")
def venvs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Each found interpreter's venv, by its ``facts`` label (``3.13.0t``)."""
    made = {}
    for base in PYTHONS:
        about = facts(base)
        label = about["version"] + ("t" if about["free_threaded"] else "")
        python = make_venv(base, tmp_path_factory.mktemp(f"py{label}") / "venv")
        pip = [python, "-m", "pip", "install", "-q", "--disable-pip-version-check", ONLY_BINARY]
        try:
            subprocess.run([*pip, *WORKER_DEPENDENCIES], check=True, timeout=900, capture_output=True)
            subprocess.run([*pip, "--no-deps", str(ROOT)], check=True, timeout=300, capture_output=True)
        except subprocess.CalledProcessError as exc:
            pytest.fail(f"could not install the suite for {base}: {exc.stderr.decode()[-800:]}")
        made[label] = python
    return made


SCENARIO = """\
description: Is each model's work the same under every interpreter?
workload: {kind: cpu, tasks: 4, iterations: 60000}
models: [sequential, threads, processes, interpreters, uvloop]
workers: [2]
rounds: 3
"""


@pytest.fixture(scope="module")
def saved_run(venvs: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """One run of a small scenario under every found interpreter and this one, interleaved."""
    folder = tmp_path_factory.mktemp("newer")
    (folder / "same-work.yaml").write_text(SCENARIO, encoding="utf-8")
    pythons = [arg for python in [*venvs.values(), sys.executable] for arg in ("--python", python)]
    done = run_suite(
        # Counting instructions under valgrind is tested in test_workcount; here it would only
        # add seconds per interpreter to a fixture that shares the test's time limit.
        "run",
        "same-work.yaml",
        *pythons,
        "--results",
        "res",
        "--save",
        "newer",
        "--no-count",
        cwd=folder,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    saved = json.loads(next((folder / "res").glob("*/0001_newer.json")).read_text())
    return folder, saved


def by_interpreter(saved: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for bench in saved["benchmarks"]:
        grouped.setdefault(bench["params"]["python"], []).append(bench)
    return grouped


def test_labels_and_gil_state(venvs: dict[str, str], saved_run: tuple[Path, dict[str, Any]]) -> None:
    grouped = by_interpreter(saved_run[1])
    for version in venvs:
        free = version.endswith("t")
        label = f"cpython-{version}" + (" (GIL off)" if free else "")
        assert label in grouped, f"{label} not among {sorted(grouped)}"
        for bench in grouped[label]:
            assert bench["extra_info"]["free_threaded"] is free
            # A free-threaded build keeps the GIL off unless an extension turned it back on.
            assert bench["extra_info"]["gil_enabled"] is (not free)


def test_same_checksum_for_every_model_under_every_interpreter(
    saved_run: tuple[Path, dict[str, Any]],
) -> None:
    benches = saved_run[1]["benchmarks"]
    checksums = {(b["params"]["python"], b["params"]["model"]): b["extra_info"]["checksum"] for b in benches}
    assert len(set(checksums.values())) == 1, checksums
    # The subinterpreters ran on every interpreter that has them (3.13 and later).
    ran = {python for python, model in checksums if model == "interpreters"}
    assert ran == {python for python, _ in checksums if not python.startswith("cpython-3.11")}


def test_speedups_are_over_each_interpreters_own_sequential(saved_run: tuple[Path, dict[str, Any]]) -> None:
    for python, benches in by_interpreter(saved_run[1]).items():
        sequential = next(b for b in benches if b["params"]["model"] == "sequential")
        for bench in benches:
            ratio = sequential["stats"]["median"] / bench["stats"]["median"]
            # Paired per cycle, so not exactly the ratio of medians; the same within noise.
            assert bench["extra_info"]["speedup"] == pytest.approx(ratio, rel=0.5), (python, bench["name"])


def test_a_missing_dependency_is_reported_unavailable_with_the_reason(
    venvs: dict[str, str], saved_run: tuple[Path, dict[str, Any]]
) -> None:
    # The test venvs have no uvloop: its cases say why instead of failing.
    cases = [c for c in saved_run[1]["suite"]["cases"] if c["model"] == "uvloop"]
    unavailable = {c["interpreter"].split()[0] for c in cases if c["status"] == "unavailable"}
    assert unavailable == {f"cpython-{version}" for version in venvs}
    for case in cases:
        if case["status"] == "unavailable":
            assert case["reason"] == "uvloop is not installed for this interpreter (pip install uvloop)"


def test_one_run_compares_each_interpreter_on_its_own(
    venvs: dict[str, str], saved_run: tuple[Path, dict[str, Any]]
) -> None:
    folder, _ = saved_run
    shown = run_suite("compare", "newer", "--results", "res", cwd=folder, check=True).stdout
    for version in venvs:
        assert f"same-work on cpython-{version}" in shown


def test_one_baseline_across_interpreters(
    venvs: dict[str, str], saved_run: tuple[Path, dict[str, Any]]
) -> None:
    folder, saved = saved_run
    here = f"cpython-{sys.version.split()[0]}"
    shown = run_suite(
        "compare", "newer", "--baseline", f"{here}:sequential", "--results", "res", cwd=folder, check=True
    ).stdout
    assert f"x speedup over {here}:sequential" in shown
    row = next(line for line in shown.splitlines() if line.strip().startswith("sequential-w1"))
    medians = {
        b["params"]["python"]: b["stats"]["median"]
        for b in saved["benchmarks"]
        if b["params"]["model"] == "sequential"
    }
    # This interpreter's own sequential is x1.00 against itself; the others are their ratio to it.
    assert "x1.00" in row
    assert row.count(" x") == len(medians)


def test_list_says_what_each_interpreter_can_run(venvs: dict[str, str], tmp_path: Path) -> None:
    for version, python in venvs.items():
        shown = run_suite("list", "--python", python, cwd=tmp_path, check=True).stdout
        models = shown.split("server models")[0]
        lines = {line.split()[0]: line for line in models.splitlines() if line.startswith("  ")}
        assert "[available]" in lines["interpreters"], version
        assert "unavailable: uvloop is not installed for this interpreter" in lines["uvloop"], version
        assert "[available]" in lines["threads"], version
        # The test venvs have no httptools either: every server model says so.
        servers = shown.split("server models")[1].split("workload kinds")[0]
        missing = "unavailable: every server model parses HTTP with httptools"
        assert servers.count(missing) == len(registry.servers()), servers


def test_subinterpreters_use_concurrent_interpreters_from_314(venvs: dict[str, str]) -> None:
    newer = {v: p for v, p in venvs.items() if tuple(map(int, v.rstrip("t").split(".")[:2])) >= (3, 14)}
    if not newer:
        pytest.skip("no Python 3.14 or later found")
    code = (
        "from suite.models.subinterpreters import Subinterpreter\n"
        "s = Subinterpreter(); print(type(s._interp).__module__); s.close()\n"
    )
    for version, python in newer.items():
        done = subprocess.run(
            [python, "-c", code],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            check=True,
        )
        assert done.stdout.strip() == "concurrent.interpreters", version
