"""A scenario's expectations: declared in its file, judged from paired rounds, gating CI."""

from __future__ import annotations

from pathlib import Path

import pytest
from suite_cli import run_suite

from suite.errors import ScenarioError
from suite.results import expectations
from suite.results.history import Measurement
from suite.results.paired import Interval
from suite.results.record import CaseRecord
from suite.spec.scenario import Expectation, load


def case(model: str, workers: int, rounds: list[float]) -> Measurement:
    record = CaseRecord(scenario="s", model=model, workers=workers, cycles=list(range(len(rounds))))
    return Measurement("s", model, workers, tuple(rounds), sorted(rounds)[len(rounds) // 2], record)


def test_at_least_holds_only_when_the_whole_interval_clears_it() -> None:
    faster = Expectation(model="processes", than="threads", at_least=1.5)
    assert expectations.state(faster, Interval(1.9, 1.6, 2.1)) == expectations.HOLDS
    assert expectations.state(faster, Interval(1.6, 1.3, 1.9)) == expectations.NOT_SETTLED
    assert expectations.state(faster, Interval(1.1, 1.0, 1.2)) == expectations.FALSE


def test_within_holds_only_when_the_whole_interval_lies_inside() -> None:
    close = Expectation(model="asyncio", than="uvloop", within=0.1)
    assert expectations.state(close, Interval(1.0, 0.95, 1.05)) == expectations.HOLDS
    assert expectations.state(close, Interval(1.05, 0.98, 1.2)) == expectations.NOT_SETTLED
    assert expectations.state(close, Interval(1.4, 1.3, 1.5)) == expectations.FALSE
    assert expectations.state(close, Interval(0.7, 0.6, 0.8)) == expectations.FALSE


def test_each_worker_count_is_judged_from_paired_rounds() -> None:
    seq = case("sequential", 1, [1.0, 1.5, 1.0, 1.5, 1.0, 1.5])
    # Each cycle's round of threads-w2 takes half of that cycle's sequential round, though
    # the machine moved by half between cycles: paired, the figure is exact.
    threads = case("threads", 2, [0.5, 0.75, 0.5, 0.75, 0.5, 0.75])
    slow = case("threads", 4, [1.2, 1.8, 1.2, 1.8, 1.2, 1.8])
    judged = expectations.judge(
        "s", Expectation(model="threads", than="sequential", at_least=1.5), [seq, threads, slow]
    )
    assert [(j.pair, j.state) for j in judged] == [
        ("threads-w2 vs sequential-w1", expectations.HOLDS),
        ("threads-w4 vs sequential-w1", expectations.FALSE),
    ]
    assert judged[0].speed is not None
    assert judged[0].speed.value == pytest.approx(2.0)
    missing = expectations.judge("s", Expectation(model="asyncio", than="sequential", within=0.1), [seq])
    assert [j.state for j in missing] == [expectations.NOT_MEASURED]


def test_an_expectation_about_a_model_the_scenario_does_not_run_names_the_line(write_scenario) -> None:  # type: ignore[no-untyped-def]
    path = write_scenario(
        """
        workload: {kind: cpu, tasks: 4, iterations: 100}
        models: [sequential, threads]
        expect:
          - {model: threads, than: sequential, at_least: 1.5}
          - {model: procesess, than: threads, at_least: 1.5}
          - {model: threads, than: sequential}
        """
    )
    with pytest.raises(ScenarioError) as raised:
        load(path)
    text = "\n".join(map(str, raised.value.problems))
    assert f"{path}:5: expect[1].model: 'procesess' is not among the scenario's models" in text
    assert f"{path}:6: expect[2]: value error, give exactly one of at_least" in text


SCENARIO = """\
workload: {{kind: cpu, tasks: 4, iterations: 2000}}
models: [sequential, threads]
workers: [2]
rounds: 5
expect:
  - {{model: threads, than: sequential, {test}}}
"""


@pytest.mark.parametrize(
    ("test", "code", "said"),
    [
        (
            "at_least: 0.01",
            0,
            "holds: s: threads at least x0.01 as fast as sequential (threads-w2 vs sequential-w1",
        ),
        (
            "at_least: 100",
            1,
            "FALSE here: s: threads at least x100 as fast as sequential (threads-w2 vs sequential-w1",
        ),
    ],
)
@pytest.mark.slow
def test_check_expectations_exits_1_when_one_is_false(
    tmp_path: Path, test: str, code: int, said: str
) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(SCENARIO.format(test=test))
    done = run_suite(
        "run", str(path), "--check-expectations", "--no-count", "--results", str(tmp_path / "r"), cwd=tmp_path
    )
    assert done.returncode == code, done.stdout[-2000:] + done.stderr[-2000:]
    assert said in done.stdout
    # Without the flag, the same verdict is reported and the run passes.
    if code:
        plain = run_suite("run", str(path), "--no-count", "--results", str(tmp_path / "r"), cwd=tmp_path)
        assert plain.returncode == 0
        assert said in plain.stdout
