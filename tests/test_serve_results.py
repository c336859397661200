"""Serve-mode results: the summary's table, the rate held within the SLO, the ranking,
the claim about web servers, the latency chart, and compare keyed by load point."""

from __future__ import annotations

import types
from typing import Any

import pytest
from suite_cli import ROOT

from suite.results import charts, loadpoints, summary
from suite.results.feeds import Feeds
from suite.results.findings import Measurements, serve_verdict, threads_for_web_servers
from suite.results.history import Measurement
from suite.results.record import CaseRecord

FEEDS = Feeds.of_files([ROOT / "scenarios"])

SLO = 100.0


def info(
    model: str, workers: int, mode: str, amount: float, rps: float, p99: float, **more: Any
) -> CaseRecord:
    load = (
        {"mode": "closed", "connections": int(amount), "label": f"closed{amount:g}"}
        if mode == "closed"
        else {"mode": "open", "rate_rps": amount, "label": f"open{amount:g}"}
    )
    found = {
        "mode": "serve",
        "scenario": more.pop("scenario", "serve-io"),
        "model": model,
        "workers": workers,
        "workload": "sleep",
        "load": load,
        "status": "ok",
        "reason": None,
        "achieved_rps": rps,
        "offered_rps": amount if mode == "open" else None,
        "latency_ms": {"p50": p99 / 3, "p90": p99 / 2, "p99": p99, "p999": p99, "max": p99},
        "errors": {},
        "slo_p99_ms": SLO,
    }
    found.update(more)
    found["saturated"] = found.get("saturated", (mode == "open" and rps < 0.95 * amount) or p99 > SLO)
    return CaseRecord.model_validate(found)


# asyncio holds 800/s within the SLO; threads only 400/s; sequential nothing.
INFOS = [
    info("asyncio", 8, "closed", 64, 900.0, 60.0),
    info("asyncio", 8, "open", 400, 400.0, 25.0),
    info("asyncio", 8, "open", 800, 800.0, 40.0),
    info("threads", 8, "closed", 64, 500.0, 150.0),
    info("threads", 8, "open", 400, 400.0, 30.0),
    info("threads", 8, "open", 800, 610.0, 900.0),
    info("sequential", 1, "closed", 64, 49.0, 1500.0),
    info("sequential", 1, "open", 400, 90.0, 1900.0, status="degraded", reason="300 timeout of 390 requests"),
    info("sequential", 1, "open", 800, 0.0, 0.0, status="timeout", reason="the server stopped answering"),
]


def measurements(records: list[CaseRecord]) -> list[Measurement]:
    return [
        Measurement(str(r.scenario), str(r.model), r.workers, ((r.latency_ms or {})["p50"] / 1000,), 0.01, r)
        for r in records
        if r.measured
    ]


def test_the_summary_has_a_row_per_model_and_a_column_per_load_point() -> None:
    lines = summary.render(INFOS, [], ["sequential", "asyncio", "threads"])
    text = "\n".join(lines)
    assert "serve-io (serve: sleep handler)" in text
    header = next(line for line in lines if "closed64" in line)
    assert header.split() == ["case", "closed64", "open400", "open800"]
    row = next(line for line in lines if line.strip().startswith("threads w8"))
    assert "500/s p99 150ms ~" in row  # over the SLO: saturated
    assert "610/s p99 900ms ~" in row
    assert "TIMEOUT" in next(line for line in lines if line.strip().startswith("sequential w1"))
    held = next(line for line in lines if "highest offered rate held" in line)
    assert held == (
        "  highest offered rate held within p99 <= 100 ms: "
        "asyncio w8 800/s, threads w8 400/s, sequential w1 none"
    )
    assert "warning: sequential w1 open800: timeout: the server stopped answering" in text
    assert "warning: sequential w1 open400: degraded: 300 timeout of 390 requests" in text


def test_a_model_that_fails_requests_holds_no_rate() -> None:
    failing = [info("asyncio", 8, "open", 400, 400.0, 20.0, errors={"timeout": 30})]
    assert loadpoints.sustained(failing) == {("asyncio", 8): None}


def test_serve_scenarios_rank_by_the_rate_held_within_the_slo() -> None:
    verdict = serve_verdict("serve-io", measurements(INFOS), "Does asyncio beat threads?")
    assert verdict.winner == "asyncio (8 workers), held 800 req/s within p99 100 ms; 900 req/s closed-loop"
    assert verdict.tied == []
    assert verdict.runner_up == "threads (8 workers), held 400 req/s within p99 100 ms"
    assert verdict.slowest == "sequential, met the SLO at no load point"


def test_equal_rates_and_close_throughput_are_a_tie() -> None:
    assert loadpoints.tied_with((800.0, 900.0), (800.0, 850.0))
    assert not loadpoints.tied_with((800.0, 900.0), (800.0, 700.0))
    assert not loadpoints.tied_with((800.0, 900.0), (400.0, 950.0))


def test_threads_for_web_servers_is_checked_per_serve_scenario() -> None:
    cpu = [
        info("threads", 2, "open", 300, 300.0, 20.0, scenario="serve-cpu"),
        info("processes", 2, "open", 300, 300.0, 10.0, scenario="serve-cpu"),
    ]
    run = types.SimpleNamespace(measurements=measurements(INFOS + cpu), unmeasured=[])
    verdict = threads_for_web_servers(Measurements(run, FEEDS))  # type: ignore[arg-type]
    assert verdict.verdict == (
        "Not settled on this machine: threads served as well as any model in serve-cpu, clearly less in "
        "serve-io; the load points are measured once each"
    )
    only_io = types.SimpleNamespace(measurements=measurements(INFOS), unmeasured=[])
    assert threads_for_web_servers(Measurements(only_io, FEEDS)).verdict.startswith("False here")  # type: ignore[arg-type]
    assert verdict.evidence[0].startswith("serve-io: best thread server threads (8 workers), held 400 req/s")
    # A real thread server counts as a thread server: waitress holding asyncio's rate
    # settles serve-io the other way; a real event-loop server is another model.
    waitress = [
        info("waitress", 64, "closed", 64, 880.0, 70.0),
        info("waitress", 64, "open", 800, 800.0, 45.0),
    ]
    with_waitress = types.SimpleNamespace(measurements=measurements(INFOS + waitress), unmeasured=[])
    found = threads_for_web_servers(Measurements(with_waitress, FEEDS))  # type: ignore[arg-type]
    assert found.verdict == "True here: a thread pool served as well as any model in serve-io"
    assert found.evidence[0].startswith("serve-io: best thread server waitress (64 workers)")
    aiohttp = [info("aiohttp", 8, "closed", 64, 2000.0, 30.0), info("aiohttp", 8, "open", 1600, 1600.0, 20.0)]
    beaten = types.SimpleNamespace(measurements=measurements(INFOS + waitress + aiohttp), unmeasured=[])
    assert threads_for_web_servers(Measurements(beaten, FEEDS)).verdict.startswith("False here")  # type: ignore[arg-type]
    missing = threads_for_web_servers(
        Measurements(types.SimpleNamespace(measurements=[], unmeasured=[]), FEEDS)
    )  # type: ignore[arg-type]
    assert missing.verdict == "Not measured in this run"


def test_the_latency_chart_draws_a_line_per_model_and_workers_and_the_slo() -> None:
    chart = charts.latency_chart("serve-io", measurements(INFOS))
    assert chart is not None
    ax = chart.figure.axes[0]
    labels = [line.get_label() for line in ax.get_lines()]
    assert set(labels) == {"asyncio w8", "threads w8", "sequential w1", "SLO: p99 100 ms"}
    assert ax.get_yscale() == "log"
    assert chart.slug == "serve-io-latency"
    assert charts.latency_chart("cpu", []) is None


def test_compare_keys_serve_cases_by_load_point(make_run) -> None:  # type: ignore[no-untyped-def]
    from suite.results import history
    from suite.results.compare import compare

    def run(number: int, scale: float) -> history.Run:
        path = make_run(number, {("serve-io", "asyncio", 8): 0.02 * scale}, name=f"r{number}", noise=0.01)
        import json

        data = json.loads(path.read_text())
        closed = data["benchmarks"][0]
        opened = json.loads(json.dumps(closed))
        closed["extra_info"].update(mode="serve", load={"mode": "closed", "label": "closed64"})
        opened["extra_info"].update(mode="serve", load={"mode": "open", "label": "open800"})
        opened["name"] = "test_case[asyncio-w8-open800]"
        data["benchmarks"].append(opened)
        path.write_text(json.dumps(data))
        return history.read_run(path)

    changes = compare([run(1, 1.0), run(2, 1.5)]).changes
    assert sorted(c.label for c in changes) == ["asyncio-w8-closed64", "asyncio-w8-open800"]
    # Latencies of one window queue behind one another: one run a side is not tested...
    assert {c.verdict for c in changes} == {"untested"}
    assert {round(c.change_pct) for c in changes} == {50}
    # ...several runs a side test the runs' medians.
    from suite.results.compare import compare_sides

    before = [run(n, s) for n, s in ((3, 1.0), (4, 1.02), (5, 0.98))]
    after = [run(n, s) for n, s in ((6, 1.5), (7, 1.52), (8, 1.49))]
    assert {c.verdict for c in compare_sides(before, after).changes} == {"slower"}
    # One run: a table of load points, not the batch winner table.
    (table,) = compare([run(9, 1.0)]).tables
    assert table.headers == ["case", "closed64", "open800"]
    assert [row[0] for row in table.rows] == ["asyncio-w8"]
    assert table.title.startswith("serve-io: requests answered per second and p99 latency")


@pytest.mark.parametrize("status", ["failed", "timeout"])
def test_a_failed_load_point_is_named_in_capitals(status: str) -> None:
    assert loadpoints.cell(CaseRecord(status=status)) == status.upper()


def test_the_summary_says_what_each_server_spends_per_request() -> None:
    # 0.6 s of the server's CPU over 1.2 s (window and warm-up) at 1,000 answers a
    # second: 0.5 ms a request.
    load = {"duration_s": 1.0, "warmup_s": 0.2}
    costly = info("waitress", 8, "closed", 64, 1000.0, 50.0, server_cpu_s=0.6)
    costly.load = costly.load.model_copy(update=load)  # type: ignore[union-attr]
    cheap = info("threads", 8, "closed", 64, 1000.0, 50.0, server_cpu_s=0.18)
    cheap.load = cheap.load.model_copy(update=load)  # type: ignore[union-attr]
    assert loadpoints.cpu_per_request_ms(costly) == pytest.approx(0.5)
    lines = summary.render([costly, cheap], [], ["threads", "waitress"])
    at = lines.index("  the server's CPU per answered request, ms (all its processes; warm-up included)")
    assert lines[at + 2].split() == ["threads", "w8", "0.15"]
    assert lines[at + 3].split() == ["waitress", "w8", "0.50"]
    # Without the server's CPU there is nothing to say.
    assert not any("CPU per answered request" in line for line in summary.render(INFOS, [], ["asyncio"]))
