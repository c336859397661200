"""`suite report`: plots and one offline HTML file, checked in a real headless browser."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from suite import history
from suite.report import write_report

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
    assert "unstable rounds (cv 20%)" in page


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
    # Drawn, not just present: matplotlib's first two line colours and the tables' header shade.
    assert by_colour.get((31, 119, 180), 0) + by_colour.get((255, 127, 14), 0) > 200
    assert by_colour.get((240, 240, 240), 0) > 1000
    assert len(colours) > 50
