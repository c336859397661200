"""One fixed look per model, the same in every chart: a colour family per kind of model.

Event loops are blues, threads greens, processes reds and oranges, others purples, the
sequential baseline black. Within a family each model has its own shade, marker and
dash, by registry order, so a model looks the same whichever models share its chart.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from suite.spec import registry

PALETTES = {
    "baseline": ("#000000", "#525252"),
    "event loops": ("#08306b", "#2171b5", "#4292c6", "#6baed6", "#9ecae1", "#1f4e79"),
    "threads": ("#00441b", "#238b45", "#74c476", "#a1d99b"),
    "processes": ("#67000d", "#cb181d", "#fb6a4a", "#d94801", "#fd8d3c", "#fdae6b"),
    "others": ("#3f007d", "#6a51a3", "#9e9ac8", "#bcbddc", "#807dba", "#54278f"),
}
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
#: Where each family starts in MARKERS, so that the first model of each family (asyncio,
#: threads, processes) differs in shape too, not only in colour.
MARKER_START = {"baseline": 0, "event loops": 0, "threads": 2, "processes": 1, "others": 5}
DASHES = ("-", "--", "-.", ":")
#: Where a family's models appear in legends and bar groups.
FAMILY_ORDER = tuple(PALETTES)


@dataclass(frozen=True)
class Style:
    family: str
    colour: str
    marker: str
    dash: str


@functools.cache
def _known() -> dict[str, str]:
    # Batch models first; serve mode's server models that share a name share the look.
    known = {name: cls.family for name, cls in registry.runners().items()}
    for name, cls in registry.servers().items():
        known.setdefault(name, cls.family)
    return known


def family(model: str) -> str:
    found = _known().get(model, "others")
    return found if found in PALETTES else "others"


def style(model: str) -> Style:
    """The model's look; one that this installation does not know (a newer run) is drawn
    after the family's known models, in grey-purple shades."""
    kind = family(model)
    members = [name for name, fam in _known().items() if fam == kind]
    index = members.index(model) if model in members else len(members) + sum(map(ord, model)) % 7
    palette = PALETTES[kind]
    return Style(
        kind,
        palette[index % len(palette)],
        MARKERS[(MARKER_START[kind] + index) % len(MARKERS)],
        DASHES[index % len(DASHES)],
    )


def model_order(models: list[str]) -> list[str]:
    """Models grouped by family (baseline, event loops, threads, processes, others), each
    family in registry order; unknown models last, by name."""
    known = list(_known())

    def rank(model: str) -> tuple[int, int, str]:
        position = known.index(model) if model in known else len(known)
        return FAMILY_ORDER.index(family(model)), position, model

    return sorted(models, key=rank)
