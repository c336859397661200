"""Charts a person can read: a fixed look per model, legends outside, bars for few levels."""

from __future__ import annotations

from pathlib import Path

import pytest
from matplotlib.colors import to_hex

from suite.results import history
from suite.results.charts import cdf_chart, history_chart, speedup_chart
from suite.results.style import family, model_order, style
from suite.spec import registry

MODELS = list(registry.runners())


def _cases(make_run, levels: list[int], tmp_path: Path) -> list[history.Measurement]:  # type: ignore[no-untyped-def]
    cases = {("s", "sequential", 1): 1.0}
    for model in MODELS[1:]:
        for k, workers in enumerate(levels):
            cases[("s", model, workers)] = 1.0 / (1 + k + MODELS.index(model) / 10)
    extra = {"task_cdf_ms": [10 + k / 5 for k in range(101)], "workload": "sleep"}
    return history.read_run(make_run(1, cases, name="r", extra=extra, results=tmp_path)).measurements


def test_every_model_has_its_own_colour_and_marker() -> None:
    looks = [(style(m).colour, style(m).marker) for m in MODELS]
    assert len(set(looks)) == len(MODELS)
    assert len({style(m).colour for m in MODELS}) == len(MODELS)


def test_families_share_a_colour_family_and_order() -> None:
    assert family("asyncio") == family("uvloop") == family("trio") == "event loops"
    assert family("processes-spawn") == family("multiprocessing-pool") == "processes"
    assert family("threads") == "threads"
    assert family("no-such-model") == "others"
    assert model_order(["dask", "threads", "processes", "asyncio", "sequential"]) == [
        "sequential",
        "asyncio",
        "threads",
        "processes",
        "dask",
    ]


def _line_looks(chart) -> dict[str, tuple[str, str]]:  # type: ignore[no-untyped-def]
    ax = chart.figure.axes[0]
    return {
        line.get_label().rsplit("-w", 1)[0]: (to_hex(line.get_color()), line.get_marker())
        for line in ax.get_lines()
        if not line.get_label().startswith("_")
    }


def _legend_is_outside(chart) -> bool:  # type: ignore[no-untyped-def]
    ax = chart.figure.axes[0]
    chart.figure.canvas.draw()
    legend = ax.get_legend().get_window_extent()
    return legend.x0 >= ax.get_window_extent().x1


def test_line_charts_draw_each_model_distinctly_with_the_legend_outside(make_run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cases = _cases(make_run, [1, 2, 4, 8], tmp_path)
    charts = [speedup_chart("s", cases), cdf_chart("s", cases)]
    for chart in charts:
        assert chart is not None
        looks = _line_looks(chart)
        assert len(looks) >= len(MODELS) - 1
        assert len(set(looks.values())) == len(looks), looks
        assert all(look == (style(m).colour, style(m).marker) for m, look in looks.items())
        assert _legend_is_outside(chart)


def test_history_chart_keeps_the_model_looks(make_run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    runs = [
        history.read_run(make_run(n, {("s", m, 2): 1.0 for m in MODELS}, name=f"r{n}", results=tmp_path))
        for n in (1, 2)
    ]
    chart = history_chart("s", runs)
    assert chart is not None
    looks = _line_looks(chart)
    assert len(set(looks.values())) == len(MODELS)
    assert _legend_is_outside(chart)


@pytest.mark.parametrize("levels", [[2], [10, 100]])
def test_few_worker_counts_are_grouped_bars_in_model_colours(
    make_run, tmp_path: Path, levels: list[int]
) -> None:  # type: ignore[no-untyped-def]
    chart = speedup_chart("s", _cases(make_run, levels, tmp_path))
    assert chart is not None
    ax = chart.figure.axes[0]
    assert not [line for line in ax.get_lines() if line.get_marker() not in (None, "None", "")]
    bars = ax.patches
    assert len(bars) == (len(MODELS) - 1) * len(levels)
    colours = {to_hex(bar.get_facecolor()) for bar in bars}
    assert colours == {style(m).colour for m in MODELS[1:]}
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    assert ticks == model_order(MODELS[1:])
    assert _legend_is_outside(chart)


def test_three_worker_counts_are_lines(make_run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    chart = speedup_chart("s", _cases(make_run, [1, 2, 4], tmp_path))
    assert chart is not None
    assert not chart.figure.axes[0].patches
