"""Measure which concurrency model wins for a workload: asyncio, threads, processes, ...

The layout is the plan; each package's docstring says what it owns and may import:

- :mod:`suite.spec`: scenario files -> validated scenarios -> cases; the registry.
- :mod:`suite.workloads`: one module per workload kind (what a task does and its keys).
- :mod:`suite.tasks`: the tasks as stdlib-only functions (subinterpreters run these).
- :mod:`suite.models`: one module per concurrency model (how tasks are run).
- :mod:`suite.servers`: serve mode, one module per model as a web server.
- :mod:`suite.harness`: the pytest plugin, worker processes, backend server, metrics.
- :mod:`suite.results`: saved runs, summary, compare, report, findings.
- :mod:`suite.selfcheck`: the suite checked: harness overhead, false changes and detection.
- :mod:`suite.cli` (the ``suite`` command), :mod:`suite.plugin` (pytest's entry point)
  and :mod:`suite.errors` (the one base exception) stay at the top.

PYTEST_DONT_REWRITE: the package is also a pytest plugin that `suite run` imports before
pytest starts; it has no test assertions to rewrite.
"""

from __future__ import annotations

__version__ = "0.1.0"
