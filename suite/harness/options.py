"""The run options, defined once: for the ``suite`` command and for the pytest plugin.

Each :class:`Option` is one setting of a run. ``suite run --rounds 3`` and ``pytest
scenarios/ --suite-rounds 3`` take it with the same parser, so both refuse the same
mistakes with the same words. The ``suite`` command hands the plugin the values it has
already checked (:class:`Given`, a plugin object passed to ``pytest.main``); the plugin
reads every option through :func:`value`, which prefers those and falls back to its own
``--suite-*`` options when pytest runs the scenarios by itself.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from suite.results import ab, saving
from suite.spec import registry

if TYPE_CHECKING:
    import pytest


def csv_ints(text: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated whole numbers, got {text!r}") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected whole numbers >= 1, got {text!r}")
    return values


def csv_models(text: str) -> list[str]:
    names = [v.strip() for v in text.split(",") if v.strip()]
    unknown = [n for n in names if n not in registry.runners()]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown model(s) {', '.join(unknown) or '(none given)'}; valid: {', '.join(registry.runners())}"
        )
    return names


def positive(text: str) -> int:
    value = csv_ints(text)
    if len(value) != 1:
        raise argparse.ArgumentTypeError(f"expected one whole number, got {text!r}")
    return value[0]


def run_name(text: str) -> str:
    if not saving.NAME.match(text):
        raise argparse.ArgumentTypeError(f"a run's name may hold letters, digits and ._+- only, got {text!r}")
    return text


def percent(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a percentage, got {text!r}") from None
    if not 0 <= value < 100:
        raise argparse.ArgumentTypeError(f"expected a percentage from 0 to 100, got {text!r}")
    return value


@dataclass(frozen=True)
class Option:
    """One run setting: ``--NAME`` on ``suite run``/``suite ab``, ``--suite-NAME`` for pytest."""

    name: str
    help: str
    parse: Callable[[str], Any] | None = None
    flag: bool = False
    repeat: bool = False
    metavar: str | None = None
    #: The plugin's value when nothing sets it.
    default: Any = None
    #: The ``suite`` commands that offer it, each with its own default where it differs.
    commands: dict[str, Any] = field(default_factory=lambda: {"run": None, "ab": None})

    @property
    def dest(self) -> str:
        return self.name.replace("-", "_")


OPTIONS: tuple[Option, ...] = (
    Option("models", "only these models, e.g. threads,processes", csv_models),
    Option("workers", "worker counts to try, e.g. 1,4 (replaces the scenarios')", csv_ints),
    Option("rounds", "measured rounds per case (suite ab: per pair of worker processes)", positive),
    Option(
        "quick",
        "a fast look: at most 2 rounds, 64 tasks and 16 workers, each task a quarter of the work",
        flag=True,
    ),
    Option(
        "dask-address",
        "scheduler for the dask model, e.g. tcp://host:8786 (default: a local cluster)",
        metavar="ADDRESS",
    ),
    Option(
        "postgres",
        "a PostgreSQL server for the db kind's engine: postgres, e.g. postgresql://user@host:5432/db "
        "(default: a throwaway cluster the suite starts and removes, where PostgreSQL is installed)",
        metavar="DSN",
    ),
    Option(
        "python",
        "interpreter that runs the workers; repeat it to run every case under each (default: this one)",
        repeat=True,
        metavar="PATH",
        commands={"run": None},
    ),
    Option(
        "no-count",
        "skip counting each CPU task's instructions under valgrind (a few seconds a scenario)",
        flag=True,
    ),
    Option(
        "results",
        "storage folder (default: ./results; pytest alone saves nothing without it)",
        Path,
        commands={"run": Path("results"), "ab": Path("results")},
    ),
    Option(
        "save",
        "name of the saved run (default: commit and time; suite ab: ab)",
        run_name,
        metavar="NAME",
        commands={"run": None, "ab": "ab"},
    ),
    Option(
        "pairs",
        "A/B: pairs of worker processes each case's rounds are split over, one after the other, so an "
        "offset of one process cannot pass for a change (default: %(default)s)",
        positive,
        default=2,
        commands={"ab": 2},
    ),
    Option(
        "floor",
        "A/B: a smaller change is never called slower or faster, percent (default: %(default)s%%)",
        percent,
        metavar="PCT",
        default=ab.FLOOR * 100,
        commands={"ab": ab.FLOOR * 100},
    ),
    Option("side", "an A/B side as JSON (suite ab gives two)", repeat=True, commands={}),
)
BY_NAME = {option.name: option for option in OPTIONS}


def _keywords(option: Option, default: Any) -> dict[str, Any]:
    if option.flag:
        return {"action": "store_true", "help": option.help}
    found: dict[str, Any] = {"default": default, "help": option.help}
    if option.parse is not None:
        found["type"] = option.parse
    if option.repeat:
        found["action"] = "append"
    if option.metavar:
        found["metavar"] = option.metavar
    return found


def add_to_parser(parser: argparse.ArgumentParser, command: str) -> None:
    """The options ``command`` offers, on its parser (``args.rounds``, ...)."""
    for option in OPTIONS:
        if command in option.commands:
            keywords = _keywords(option, option.commands[command])
            parser.add_argument(f"--{option.name}", dest=option.dest, **keywords)


def add_to_pytest(parser: pytest.Parser) -> None:
    """Every option as ``--suite-NAME``, for pytest run by itself."""
    group = parser.getgroup("suite", "concurrency comparison suite")
    for option in OPTIONS:
        keywords = _keywords(option, option.default)
        group.addoption(f"--suite-{option.name}", dest=f"suite_{option.dest}", **keywords)


def given(args: argparse.Namespace, **more: Any) -> dict[str, Any]:
    """The values ``suite run`` or ``suite ab`` parsed, by option name, with ``more`` on top."""
    found = {o.name: getattr(args, o.dest) for o in OPTIONS if args.command in o.commands}
    return {**found, **more}


class Given:
    """A pytest plugin object that hands the plugin the ``suite`` command's checked values
    (passed to ``pytest.main``, so it is registered before any hook runs)."""

    def __init__(self, values: dict[str, Any]) -> None:
        unknown = set(values) - set(BY_NAME)
        if unknown:
            raise ValueError(f"not run options: {', '.join(sorted(unknown))}")
        self.values = values


def value(config: pytest.Config, name: str) -> Any:
    """Option ``name`` for this session: as the ``suite`` command gave it, else as pytest's
    own ``--suite-NAME`` set it (or its default)."""
    option = BY_NAME[name]
    for plugin in config.pluginmanager.get_plugins():
        if isinstance(plugin, Given) and plugin.values.get(name) is not None:
            return plugin.values[name]
    return config.getoption(f"suite_{option.dest}")
