"""`suite report`: plots and one offline HTML file, checked in a real headless browser."""

from __future__ import annotations

import dataclasses
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from suite.results import history
from suite.results.report import write_report
from suite.results.style import style

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CASES = {
    ("fan", "sequential", 1): 1.0,
    ("fan", "asyncio", 4): 0.25,
    ("fan", "asyncio", 16): 0.07,
    ("fan", "threads", 4): 0.26,
    ("fan", "threads", 16): 0.09,
}
CDF = {"task_cdf_ms": [10 + k / 5 for k in range(101)]}


def make_runs(make_run, count: int = 2) -> list[history.Run]:  # type: ignore[no-untyped-def]
    paths = [make_run(n + 1, CASES, name=f"r{n + 1}", seed=n, extra=CDF) for n in range(count)]
    degraded = {
        "status": "degraded",
        "reason": "3 http_503 in 5 measured rounds of 10 tasks",
        "unstable": True,
        "cv": 0.2,
        **CDF,
    }
    paths.append(
        make_run(
            count + 1, {("fan", "uvloop", 4): 0.3}, name="bad", extra=degraded, results=paths[0].parent.parent
        )
    )
    return [history.read_run(p) for p in paths]


def test_report_is_one_offline_file_with_charts_tables_and_warnings(make_run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    runs = make_runs(make_run)
    write_report(runs[:2], tmp_path / "report.html", tmp_path / "plots")
    page = (tmp_path / "report.html").read_text()
    assert page.count("<figure class='chart'") == 3  # speedup, latency CDF, history
    assert page.count("<svg") == 3
    assert "<table" in page
    assert "Environment of each run" in page
    assert "<script" not in page
    assert "@import" not in page
    # Every reference stays inside the page: the inline SVGs point at their own glyphs and clips.
    targets = re.findall(r'(?:href|src)="([^"]*)"|url\(([^)]*)\)', page)
    assert targets
    assert all((a or b).startswith("#") for a, b in targets)
    assert sorted(p.name for p in (tmp_path / "plots").iterdir()) == [
        f"fan-{chart}.{fmt}" for chart in ("history", "latency-cdf", "speedup") for fmt in ("png", "svg")
    ]


def test_report_lists_degraded_and_unstable_cases(make_run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    runs = make_runs(make_run)
    write_report([runs[2]], tmp_path / "report.html")
    page = (tmp_path / "report.html").read_text()
    assert "0003 bad fan uvloop-w4: degraded: 3 http_503 in 5 measured rounds of 10 tasks" in page
    assert (
        "<summary>1 unstable cases (cv &gt;= 10%)</summary><ul><li>0003 bad fan uvloop-w4: cv 20%</li>"
        in page
    )


def test_report_leads_with_the_verdicts_and_groups_warnings_at_the_end(make_run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    runs = make_runs(make_run)
    current = dataclasses.replace(runs[2], descriptions={"fan": "Which model fans out fastest? More text."})
    write_report([runs[0], current], tmp_path / "report.html")
    page = (tmp_path / "report.html").read_text()
    verdicts, tables, warnings = (page.index(h) for h in ("What wins where", "<h2>Tables", "id='warnings'>"))
    assert verdicts < tables < warnings
    assert page.index("Which model fans out fastest?") < tables
    assert "More text" not in page
    # The current run (0003) has one case: uvloop wins it; the warnings say why to doubt it.
    assert re.search(r"<strong>uvloop \(4 workers\), 30\d\.\dms</strong>", page)
    assert "1 degraded cases (errors in their rounds); 1 unstable cases (cv &gt;= 10%)" in page[:tables]
    groups = re.findall(r"<details class='warnings'><summary>(\d+) ([^<]+)</summary>", page)
    assert ("1", "unstable cases (cv &gt;= 10%)") in groups
    assert len({kind for _, kind in groups}) == len(groups)


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.skip("Chromium is not installed (.ci/run installs Debian's chromium package)")
    return found


def browse(browser: str, page: Path, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            "--hide-scrollbars",
            *args,
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.slow
def test_report_renders_in_headless_chromium(make_run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from PIL import Image

    browser = chromium()
    page = tmp_path / "report.html"
    write_report(make_runs(make_run)[:2], page)
    dom = browse(browser, page, tmp_path / "profile", "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert dom.stdout.count('class="chart"') == 3
    assert dom.stdout.count("<table") >= 2
    assert dom.stdout.count("<path") > 50  # the charts' lines and axes were parsed as SVG
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "report-screenshot.png"
    done = browse(browser, page, tmp_path / "profile", "--window-size=1400,2600", f"--screenshot={shot}")
    assert done.returncode == 0, done.stderr[-2000:]
    image = Image.open(shot).convert("RGB")
    colours = image.getcolors(maxcolors=1 << 20) or []
    by_colour = {rgb: n for n, rgb in colours}
    # Drawn, not just present: the models' own colours and the tables' header shade.
    drawn = [tuple(int(style(m).colour[i : i + 2], 16) for i in (1, 3, 5)) for m in ("asyncio", "threads")]
    assert all(by_colour.get(rgb, 0) > 100 for rgb in drawn)
    assert by_colour.get((240, 240, 240), 0) > 1000
    assert len(colours) > 50
