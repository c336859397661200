"""Which scenarios feed which claim, and in which role: read from the scenario files.

The claims of ``suite findings`` (:mod:`suite.spec.claims`) name no scenario; each scenario
file says what it feeds (``feeds:``). :class:`Feeds` answers the claims' questions: which
scenarios play a role, in their evidence order, and how to name one in a line of evidence.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from suite.spec.scenario import Scenario, load_all


class Feeds:
    """The (claim, role) -> scenarios map of a set of scenario files."""

    def __init__(self, scenarios: Iterable[Scenario] = ()) -> None:
        found: dict[tuple[str, str], list[tuple[int, str, str | None]]] = {}
        for scenario in scenarios:
            for feed in scenario.feeds:
                found.setdefault((feed.claim, feed.role), []).append((feed.order, scenario.name, feed.label))
        self._by_role = {
            key: [(name, label) for _, name, label in sorted(rows)] for key, rows in found.items()
        }

    @classmethod
    def of_files(cls, paths: Sequence[Path]) -> Feeds:
        """The feeds of the scenario files under ``paths`` (the shipped ``scenarios/``)."""
        return cls(load_all(paths)[0])

    def fed(self, claim: str, role: str) -> list[str]:
        """The scenarios that feed ``claim`` as ``role``, in their evidence order."""
        return [name for name, _ in self._by_role.get((claim, role), [])]

    def first(self, claim: str, role: str) -> str:
        """The scenario that feeds ``claim`` as ``role`` (the first, if several do); a
        placeholder no run has, when none does."""
        fed = self.fed(claim, role)
        return fed[0] if fed else f"(a scenario that feeds {claim} as {role})"

    def named(self, claim: str, role: str, scenario: str) -> str:
        """``scenario (its label)`` for a line of evidence."""
        label = dict(self._by_role.get((claim, role), [])).get(scenario)
        return f"{scenario} ({label})" if label else scenario
