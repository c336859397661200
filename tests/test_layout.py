"""Each room of ``suite/`` imports only what its ``__init__`` docstring allows."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys

import pytest

ROOMS = [
    "suite.spec",
    "suite.workloads",
    "suite.tasks",
    "suite.models",
    "suite.servers",
    "suite.harness",
    "suite.results",
    "suite.selfcheck",
]
#: What importing every module of a room may bring in, besides the room itself.
ALLOWED = {
    "suite.tasks": set(),
    "suite.workloads": {"suite.tasks", "suite.errors"},
    "suite.models": {"suite.workloads", "suite.tasks", "suite.loops", "suite.errors"},
    "suite.servers": {"suite.workloads", "suite.tasks", "suite.loops", "suite.errors"},
    "suite.spec": {
        "suite.workloads",
        "suite.tasks",
        "suite.loops",
        "suite.errors",
        "suite.models",
        "suite.servers",
    },
    "suite.results": {
        "suite.spec",
        "suite.workloads",
        "suite.tasks",
        "suite.errors",
        "suite.loops",
        "suite.models",
        "suite.servers",
    },
}

PROBE = """
import importlib, json, pkgutil, sys
room = importlib.import_module(sys.argv[1])
for info in pkgutil.walk_packages(room.__path__, room.__name__ + "."):
    if not info.name.endswith(("_daskplugin", "__main__")):
        importlib.import_module(info.name)
if sys.argv[1] == "suite.results":  # model order, as compare and report ask for it
    importlib.import_module("suite.spec.registry").runners()
    importlib.import_module("suite.spec.registry").servers()
print(json.dumps(sorted(m for m in sys.modules if m.startswith("suite."))))
"""


def _imported(room: str) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, room], capture_output=True, text=True, check=True, timeout=60
    )
    return set(json.loads(done.stdout))


@pytest.mark.parametrize("room", list(ALLOWED))
def test_room_imports_only_what_it_may(room: str) -> None:
    imported = _imported(room)
    rooms = {".".join(name.split(".")[:2]) for name in imported} - {room}
    assert rooms <= ALLOWED[room]


def test_rooms_exist_with_a_docstring() -> None:
    for room in ROOMS:
        doc = importlib.import_module(room).__doc__
        assert doc is not None, room
        assert "import" in doc, room
