"""Find models and workload kinds by name: one module each, discovered, imported lazily.

A package (``suite.models``, ``suite.servers`` or ``suite.workloads``) is scanned once;
each module in it declares what it provides (``RUNNERS``, ``SERVERS`` or ``WORKLOAD``).
Adding a model or a workload kind is adding one module: nothing else lists them.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
from typing import TYPE_CHECKING

from suite.errors import UnknownNameError

if TYPE_CHECKING:
    from suite.models import Runner
    from suite.servers import Server
    from suite.workloads import Workload


def _modules(package: str) -> list[object]:
    pkg = importlib.import_module(package)
    return [
        importlib.import_module(f"{package}.{info.name}")
        for info in pkgutil.iter_modules(pkg.__path__)
        if not info.name.startswith("_")
    ]


@functools.cache
def runners() -> dict[str, type[Runner]]:
    """Every model this installation knows, available here or not, by name."""
    found: dict[str, type[Runner]] = {}
    for module in _modules("suite.models"):
        for cls in getattr(module, "RUNNERS", ()):
            found[cls.name] = cls
    return dict(sorted(found.items(), key=lambda item: item[1].order))


@functools.cache
def workloads() -> dict[str, type[Workload]]:
    """Every workload kind, by name."""
    found: dict[str, type[Workload]] = {}
    for module in _modules("suite.workloads"):
        cls = getattr(module, "WORKLOAD", None)
        if cls is not None:
            found[cls.kind] = cls
    return dict(sorted(found.items()))


@functools.cache
def servers() -> dict[str, type[Server]]:
    """Every server model (serve mode), available here or not, by name."""
    found: dict[str, type[Server]] = {}
    for module in _modules("suite.servers"):
        for cls in getattr(module, "SERVERS", ()):
            found[cls.name] = cls
    return dict(sorted(found.items(), key=lambda item: item[1].order))


def server(name: str) -> type[Server]:
    try:
        return servers()[name]
    except KeyError:
        raise UnknownNameError("server model", name, servers()) from None


def runner(name: str) -> type[Runner]:
    try:
        return runners()[name]
    except KeyError:
        raise UnknownNameError("model", name, runners()) from None


def workload(kind: str) -> type[Workload]:
    try:
        return workloads()[kind]
    except KeyError:
        raise UnknownNameError("workload kind", kind, workloads()) from None
