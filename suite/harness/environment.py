"""What produced a measurement: interpreter, GIL state and CPUs, read where the work runs."""

from __future__ import annotations

import os
import platform
import sys
import sysconfig
from typing import Any


def free_threaded() -> bool:
    """Whether this interpreter was built without the GIL (3.13t, 3.14t, ...)."""
    # The variable is 0 on GIL builds of 3.13 and None before 3.13: test truthiness.
    return bool(sysconfig.get_config_var("Py_GIL_DISABLED"))


def gil_enabled() -> bool:
    """Whether the GIL is on right now; a free-threaded build can re-enable it at run time."""
    probe = getattr(sys, "_is_gil_enabled", None)
    return True if probe is None else bool(probe())


def usable_cpus() -> int:
    """CPUs this process may run on (affinity), which can be fewer than the machine has."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def describe() -> dict[str, Any]:
    """The interpreter and machine facts stored with every case."""
    return {
        "python": platform.python_version(),
        "implementation": sys.implementation.name,
        "executable": sys.executable,
        "gil_enabled": gil_enabled(),
        "free_threaded": free_threaded(),
        "cpu_count": os.cpu_count(),
        "usable_cpus": usable_cpus(),
    }
