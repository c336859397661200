"""`suite compare` on synthetic runs with known differences, and on plain pytest-benchmark files."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from suite_cli import run_suite

from suite.results import history
from suite.results.compare import RENDERERS, can_reach_significance, compare, p_value

CASES = {("web", "sequential", 1): 1.0, ("web", "threads", 4): 0.25, ("web", "asyncio", 4): 0.24}


def two_runs(make_run, **second) -> list[history.Run]:  # type: ignore[no-untyped-def]
    first = make_run(1, CASES, name="before")
    after = make_run(2, second.pop("cases", CASES), name="after", seed=1, **second)
    return [history.read_run(first), history.read_run(after)]


@pytest.mark.slow
def test_a_30_percent_slowdown_is_flagged_and_the_rest_unchanged(make_run) -> None:  # type: ignore[no-untyped-def]
    slowed = {**CASES, ("web", "threads", 4): 0.25 * 1.3}
    comparison = compare(two_runs(make_run, cases=slowed))
    verdicts = {c.label: c for c in comparison.changes}
    assert verdicts["threads-w4"].verdict == "slower"
    assert verdicts["threads-w4"].change_pct == pytest.approx(30, abs=2)
    assert verdicts["threads-w4"].p_value is not None
    assert verdicts["threads-w4"].p_value < 0.05
    assert verdicts["asyncio-w4"].verdict == "unchanged"
    assert verdicts["sequential-w1"].verdict == "unchanged"
    assert [c.label for c in comparison.slower_than(10)] == ["threads-w4"]
    assert comparison.slower_than(40) == []


def test_a_1_percent_change_in_noisy_rounds_is_not_flagged(make_run) -> None:  # type: ignore[no-untyped-def]
    nudged = {**CASES, ("web", "threads", 4): 0.25 * 1.01}
    first = history.read_run(make_run(1, CASES, noise=0.15))
    second = history.read_run(make_run(2, nudged, noise=0.15, seed=5))
    change = next(c for c in compare([first, second]).changes if c.label == "threads-w4")
    assert change.verdict == "unchanged"


def test_a_significant_but_tiny_change_counts_as_unchanged(make_run) -> None:  # type: ignore[no-untyped-def]
    nudged = {**CASES, ("web", "threads", 4): 0.25 * 1.006}
    first = history.read_run(make_run(1, CASES, noise=0.0005))
    second = history.read_run(make_run(2, nudged, noise=0.0005, seed=5))
    tiny = next(c for c in compare([first, second]).changes if c.label == "threads-w4")
    assert tiny.p_value is not None
    assert tiny.p_value < 0.05
    assert tiny.verdict == "unchanged"
    strict = next(c for c in compare([first, second], min_change_pct=0).changes if c.label == "threads-w4")
    assert strict.verdict == "slower"


def test_too_few_rounds_are_untested_not_tied() -> None:
    assert not can_reach_significance(3, 3)
    assert can_reach_significance(4, 4)
    assert p_value([1.0, 1.1, 1.2], [2.0, 2.1, 2.2]) is None
    assert p_value([1.0, 1.1, 1.2, 1.3, 1.4], [2.0, 2.1, 2.2, 2.3, 2.4]) == pytest.approx(2 / 252)


def test_one_run_marks_the_winner_and_ties(make_run) -> None:  # type: ignore[no-untyped-def]
    run = history.read_run(make_run(1, CASES, noise=0.2))
    table = compare([run]).tables[0]
    cells = dict(zip(table.headers, table.rows[1], strict=True))
    # 4% apart with 20% noise: one of them wins, the other is not significantly slower.
    assert sorted(cells[m][0] for m in ("asyncio", "threads")) == ["*", "≈"]
    sequential = dict(zip(table.headers, table.rows[0], strict=True))["sequential"]
    assert sequential.startswith("1.0")  # far slower: neither winner nor tie
    assert " x1.00" in sequential


def test_mismatched_machines_warn(make_run) -> None:  # type: ignore[no-untyped-def]
    runs = two_runs(
        make_run,
        machine={"cpu": {"count": 8, "brand_raw": "Other CPU"}, "gil_enabled": False, "free_threaded": True},
        python="3.13.0",
    )
    warnings = "\n".join(compare(runs).warnings)
    assert "cpu count: 8 vs 2" in warnings
    assert "interpreter: cpython-3.13.0t (GIL off) vs cpython-3.11.7" in warnings
    assert "GIL enabled: False vs True" in warnings
    assert "machine" in warnings


def test_pivot_by_interpreter(make_run) -> None:  # type: ignore[no-untyped-def]
    runs = two_runs(make_run, python="3.13.0")
    table = compare(runs, by="interpreter").tables[0]
    assert table.headers == ["case", "cpython-3.11.7", "cpython-3.13.0"]
    assert all(cell for row in table.rows for cell in row)


@pytest.mark.parametrize("fmt", sorted(RENDERERS))
def test_every_format(make_run, fmt: str) -> None:  # type: ignore[no-untyped-def]
    text = RENDERERS[fmt](compare(two_runs(make_run)))
    if fmt == "json":
        assert {r["verdict"] for r in json.loads(text)["records"]} == {"unchanged"}
    elif fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(text)))
        assert {r["model"] for r in rows} == {"sequential", "threads", "asyncio"}
    elif fmt == "markdown":
        assert "| case | 0001 before | 0002 after |" in text
    else:
        assert "change from 0001 before" in text


def test_runs_by_number_name_path_and_latest(make_run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    make_run(1, CASES, name="first")
    latest = make_run(2, CASES, name="second")
    results = tmp_path / "results"
    assert history.resolve("1", results).name == "0001_first.json"
    assert history.resolve("0002", results) == latest
    assert history.resolve("first", results).name == "0001_first.json"
    assert history.resolve(str(latest), results) == latest
    assert history.load([], results)[0].name == "second"
    with pytest.raises(history.HistoryError, match="no saved run 'third'"):
        history.resolve("third", results)


@pytest.mark.slow
def test_cli_fail_if_slower_exit_codes(make_run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    make_run(1, CASES, name="before")
    make_run(2, {**CASES, ("web", "threads", 4): 0.25 * 1.3}, name="after", seed=1)
    slow = run_suite("compare", "1", "2", "--fail-if-slower", "10", cwd=tmp_path)
    assert slow.returncode == 1, slow.stderr
    assert "slower: web threads-w4: +29.8% in 0002 after" in slow.stderr
    assert run_suite("compare", "1", "2", "--fail-if-slower", "50", cwd=tmp_path).returncode == 0
    assert run_suite("compare", "1", "1", "--fail-if-slower", "1", cwd=tmp_path).returncode == 0
    missing = run_suite("compare", "7", cwd=tmp_path)
    assert missing.returncode == 2
    assert "no saved run '7'" in missing.stderr


@pytest.mark.parametrize(
    ("damage", "named"),
    [
        (lambda b: b.__setitem__("stats", "oops"), "benchmarks[0].stats: expected an object, found 'oops'"),
        (
            lambda b: b["stats"]["data"].__setitem__(1, "0.5"),
            "benchmarks[0].stats.data[1]: expected a number",
        ),
        (
            lambda b: b["extra_info"].__setitem__("workers", "4"),
            "benchmarks[0].extra_info.workers: expected an",
        ),
        (  # any field of a case's record, not only the ones every reader needs
            lambda b: b["extra_info"].__setitem__("task_ms", {"p99": "slow"}),
            "benchmarks[0].extra_info.task_ms.p99: expected a number, found 'slow'",
        ),
    ],
)
@pytest.mark.slow
def test_a_run_file_of_the_wrong_shape_is_one_line_naming_the_field(
    make_run, tmp_path: Path, damage, named
) -> None:  # type: ignore[no-untyped-def]
    path = make_run(1, CASES, name="damaged")
    data = json.loads(path.read_text())
    damage(data["benchmarks"][0])
    path.write_text(json.dumps(data))
    for command in (["compare"], ["report", "--html", str(tmp_path / "r.html")]):
        done = run_suite(*command, "1", cwd=tmp_path)
        assert done.returncode == 2, done.stderr
        assert named in done.stderr
        assert str(path.name) in done.stderr
        assert "Traceback" not in done.stderr


@pytest.mark.slow
def test_files_from_plain_pytest_benchmark(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import time
        def test_fast(benchmark):
            benchmark.pedantic(time.sleep, args=(0.001,), rounds=5)
        def test_slow(benchmark):
            benchmark.pedantic(time.sleep, args=(0.004,), rounds=5)
        """
    )
    pytester.runpytest_subprocess(
        "-p",
        "no:cacheprovider",
        "--benchmark-storage=file://store",
        "--benchmark-save=plain",
        "--benchmark-save-data",
    ).assert_outcomes(passed=2)
    run = history.load(["plain"], pytester.path / "store")[0]
    assert {m.model for m in run.measurements} == {"test_fast", "test_slow"}
    table = compare([run]).tables[0]
    assert table.headers == ["workers", "test_fast", "test_slow"]
    assert table.rows[0][1].startswith("*")
    assert compare([run, run]).changes[0].verdict == "unchanged"


def test_runs_of_schema_1_migrate_their_cycles_from_position(make_run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = make_run(1, CASES, name="old", rounds=7, extra={"interleaved": True, "extra_rounds": 2})
    run = history.read_run(path)
    m = run.measurements[0]
    assert m.record.cycles == [0, 1, 2, 3, 4]  # the 5 planned rounds ran in lockstep
    assert m.record.cycles_from_position is True


@pytest.mark.slow
def test_a_run_of_a_newer_schema_is_refused_in_one_line(make_run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = make_run(1, CASES, name="future")
    data = json.loads(path.read_text())
    data["suite"] = {"schema_version": history.SCHEMA_VERSION + 1}
    path.write_text(json.dumps(data))
    done = run_suite("compare", "1", cwd=tmp_path)
    assert done.returncode == 2
    assert f"suite.schema_version is {history.SCHEMA_VERSION + 1}; this suite reads up to" in done.stderr
    schema = json.loads(run_suite("schema", "--run", cwd=tmp_path).stdout)
    assert "benchmarks" in schema["properties"]
