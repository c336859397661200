"""What this interpreter can run: every model, server model and workload kind, with the
reason for each that it cannot.

``suite list --python PATH`` runs this module under ``PATH`` (``python -m
suite.harness.availability`` prints it as JSON), so the answer is the worker
interpreter's own: its version, its build (free-threaded or not) and what is installed
there, not the parent's.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from suite.harness import environment
from suite.spec import registry


def report() -> dict[str, Any]:
    """``{"models": {name: reason or None}, "servers": {...}, "kinds": {...}, "env": {...}}``."""
    return {
        "models": {name: cls.unavailable_reason() for name, cls in registry.runners().items()},
        "servers": {name: cls.unavailable_reason() for name, cls in registry.servers().items()},
        "kinds": {kind: cls.unavailable_reason() for kind, cls in registry.workloads().items()},
        "env": environment.describe(),
    }


def main() -> int:
    json.dump(report(), sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
