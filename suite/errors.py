"""The suite's exceptions: one base class, specific subclasses, messages built here."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any


class SuiteError(Exception):
    """Base class of every error the suite raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a scenario file, located as precisely as the file allows."""

    file: str
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class ScenarioError(SuiteError):
    """A scenario file is unreadable or invalid; ``problems`` lists every mistake found."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class UnknownNameError(SuiteError):
    """A model or workload kind that no module provides."""

    def __init__(self, what: str, name: str, valid: Iterable[str]) -> None:
        self.what, self.name, self.valid = what, name, tuple(sorted(valid))
        super().__init__(f"unknown {what} {name!r}; valid: {', '.join(self.valid)}")


class CaseFailed(SuiteError):
    """A case could not be measured; ``status`` is ``failed``, ``timeout`` or ``incorrect``
    (its tasks gave a wrong result: ``fields`` says how wrong)."""

    def __init__(
        self, reason: str, *, status: str = "failed", detail: str = "", fields: dict[str, Any] | None = None
    ) -> None:
        self.reason, self.status, self.detail = reason, status, detail
        self.fields = dict(fields or {})
        super().__init__(reason + (f"\n{detail}" if detail else ""))


class LostUpdates(SuiteError):
    """Tasks updated shared state and some updates are missing: a wrong result, not a crash."""

    def __init__(self, lost: int, updates: int, rounds: int) -> None:
        self.fields = {"lost_updates": lost, "updates": updates}
        super().__init__(
            f"lost {lost:,} of {updates:,} updates ({lost / updates:.2%}) over {rounds} rounds: "
            "the shared state is wrong"
        )


class ModelUnavailable(SuiteError):
    """The model cannot run on this interpreter or machine; the message says why."""


class WorkerDied(SuiteError):
    """A process running tasks died mid-round; the message names it and how it ended."""


class Terminated(KeyboardInterrupt):
    """Raised in the main thread on SIGTERM, so a run stops the way Ctrl-C stops it."""


#: The ``suite`` command's exit codes.
EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_INTERRUPTED, EXIT_TERMINATED = 0, 1, 2, 130, 143
#: pytest's exit codes that the ``suite`` command passes on (``pytest.ExitCode``'s values).
_PYTEST_OK, _PYTEST_FAILED, _PYTEST_INTERRUPTED = 0, 1, 2


def exit_code(pytest_code: int, terminated: bool) -> int:
    """The ``suite`` command's exit code for a pytest session that ended with ``pytest_code``."""
    exits = {
        _PYTEST_OK: EXIT_OK,
        _PYTEST_FAILED: EXIT_FAILED,
        _PYTEST_INTERRUPTED: EXIT_TERMINATED if terminated else EXIT_INTERRUPTED,
    }
    return exits.get(pytest_code, EXIT_BAD_INPUT)
