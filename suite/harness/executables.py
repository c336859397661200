"""Interpreters that run workers: probed once, labelled by version, build and GIL state."""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import suite
from suite import __version__
from suite.results.history import interpreter_label

#: What an interpreter is, and whether it can run the suite's workers: what the worker
#: program imports must import there (the suite and its dependencies, installed).
PROBE = """
import json, platform, sys, sysconfig
gil = getattr(sys, '_is_gil_enabled', lambda: True)()
facts = {'implementation': sys.implementation.name, 'version': platform.python_version(),
         'free_threaded': bool(sysconfig.get_config_var('Py_GIL_DISABLED')), 'gil_enabled': bool(gil),
         'suite_error': None, 'suite_version': None}
if sys.version_info >= (3, 11):
    try:
        import suite, suite.harness.worker
        facts['suite_version'] = suite.__version__
    except BaseException as exc:
        facts['suite_error'] = f'{type(exc).__name__}: {exc}'
print(json.dumps(facts))
"""
MIN_VERSION = (3, 11)


@dataclass(frozen=True)
class Interpreter:
    """A Python that runs workers, and the label its results carry."""

    path: str
    label: str
    error: str | None = None  # why it cannot even be probed


def worker_env(path: str) -> dict[str, str]:
    """The environment a worker under ``path`` gets: this very copy of the suite importable.

    For this interpreter, always (also from a source tree). For another one, when the
    suite runs from a checkout: its code is pure Python, so that interpreter runs the same
    suite with its own dependencies, never a stale copy installed there earlier. An
    installed suite is not shared: its folder holds this interpreter's compiled packages.
    """
    env = dict(os.environ)
    if same_as_this(path) or (SUITE_ROOT / "pyproject.toml").exists():
        root = str(SUITE_ROOT)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    return env


@functools.cache
def probe(path: str) -> Interpreter:
    """Ask ``path`` what it is; a path that does not run gives an :class:`Interpreter` with an error."""
    if same_as_this(path):
        path = sys.executable
    try:
        done = subprocess.run(
            [path, "-c", PROBE], capture_output=True, text=True, timeout=60, check=True, env=worker_env(path)
        )
        facts = json.loads(done.stdout)
    except (OSError, subprocess.SubprocessError, ValueError) as exc:
        return Interpreter(
            path, os.path.basename(path), f"{path} does not run as a Python interpreter: {exc}"
        )
    label = interpreter_label(
        facts["implementation"], facts["version"], facts["free_threaded"], facts["gil_enabled"]
    )
    return Interpreter(path, label, _unfit(path, facts))


def _unfit(path: str, facts: dict[str, Any]) -> str | None:
    """Why an interpreter that runs cannot run the suite's workers, if it cannot."""
    version = tuple(int(part) for part in facts["version"].split(".")[:2])
    if version < MIN_VERSION:
        return f"{path} is Python {facts['version']}; the suite needs Python 3.11 or newer"
    if facts["suite_error"]:
        return (
            f"{path} cannot import the suite's worker ({facts['suite_error']}); "
            f"install the suite there: {path} -m pip install {_this_checkout()}"
        )
    if facts["suite_version"] != __version__:
        return (
            f"{path} has suite {facts['suite_version']}, this is {__version__}; "
            f"install this one there: {path} -m pip install {_this_checkout()}"
        )
    return None


def _this_checkout() -> str:
    """What to install: this checkout when the suite runs from one, else the package."""
    return str(SUITE_ROOT) if (SUITE_ROOT / "pyproject.toml").exists() else "concurrency-suite"


#: The folder this copy of the suite is imported from (a checkout, or site-packages).
SUITE_ROOT = Path(suite.__file__).resolve().parent.parent


def same_as_this(path: str) -> bool:
    """Whether ``path`` is the interpreter running now, in the same environment: the same
    binary *and* the same prefix. A venv made from it runs the same binary with packages
    of its own, and so, from inside such a venv, does the binary itself
    (``/usr/bin/python3`` is not the venv it made)."""
    if os.path.realpath(path) != os.path.realpath(sys.executable):
        return False
    folder = Path(path).absolute().parent.parent
    prefix = folder if (folder / "pyvenv.cfg").exists() else Path(sys.base_prefix)
    return prefix.resolve() == Path(sys.prefix).resolve()


def resolve(paths: list[str] | None) -> list[Interpreter]:
    """The interpreters of a run, in the order given (default: this one)."""
    return [probe(p) for p in dict.fromkeys(paths or [sys.executable])]


def availability(path: str) -> dict[str, Any] | str:
    """What ``path`` can run (:mod:`suite.harness.availability`'s report), or why it could not say."""
    command = [path, "-m", "suite.harness.availability"]
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=120, check=True, env=worker_env(path)
        )
        found: dict[str, Any] = json.loads(done.stdout)
    except subprocess.CalledProcessError as exc:
        return f"{path} -m suite.harness.availability failed: {exc.stderr.strip()[-500:]}"
    except (OSError, subprocess.SubprocessError, ValueError) as exc:
        return f"{path} -m suite.harness.availability failed: {exc}"
    return found
