"""Interrupting a run, killing it, losing its server, and how results are saved:
exit codes, statuses, files intact, nothing left running."""

from __future__ import annotations

import glob
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil
import pytest
from suite_cli import ROOT, alive, run_suite, start_suite, wait_for_text

from suite.results import history, saving

# The fast lane (-m 'not slow') leaves this module out: every test runs the suite and stops it with a signal.
pytestmark = pytest.mark.slow

WriteScenario = Callable[..., Path]

#: Three cases: the first finishes at once, the second (16 s) is interrupted while its
#: forkserver pool runs (which, unlike fork, keeps named semaphores in /dev/shm), the
#: third never starts.
QUICK = """
name: quick
workload: {kind: sleep, tasks: 2, latency_ms: 1}
models: [sequential]
rounds: 2
"""
SLOW = """
name: slow
workload: {kind: sleep, tasks: 8, latency_ms: 200}
models: [processes-forkserver, threads]
workers: [4]
rounds: 40
warmup: 0
"""


def two_scenarios(write_scenario: WriteScenario) -> Path:
    write_scenario(QUICK, name="a.yaml")
    return write_scenario(SLOW, name="b.yaml").parent


def descendants(pid: int) -> set[int]:
    try:
        return {p.pid for p in psutil.Process(pid).children(recursive=True)}
    except psutil.NoSuchProcess:
        return set()


def semaphores() -> set[str]:
    return set(glob.glob("/dev/shm/sem.mp-*"))


def saved(results: Path) -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in history.saved_files(results)]


def interrupt_second_case(tmp_path: Path, scenario: Path, sig: int) -> tuple[int, set[int], str]:
    """Start a run in the background, signal it while its second case runs; return the
    exit code, every process it had started, and its output."""
    log = tmp_path / "out.log"
    proc = start_suite(
        "run", str(scenario), "--results", str(tmp_path / "results"), cwd=tmp_path, log=log, background=True
    )
    try:
        wait_for_text(log, "[1/3]", proc)  # the first case is done
        seen: set[int] = set()
        deadline = time.monotonic() + 30
        while not any(is_worker(p) for p in descendants(proc.pid)):
            assert time.monotonic() < deadline, "the second case's worker never started"
            time.sleep(0.05)
        time.sleep(1.0)  # its pool is up and a few rounds have run
        seen = descendants(proc.pid)
        proc.send_signal(sig)
        code = proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    return code, seen, log.read_text()


def _cmdline(pid: int) -> list[str]:
    try:
        return list(psutil.Process(pid).cmdline())
    except psutil.Error:
        return []


def is_worker(pid: int) -> bool:
    """A case's worker: started as one, or forked by its interpreter's zygote."""
    if "suite.harness.worker" in " ".join(_cmdline(pid)):
        return True
    try:
        parent = psutil.Process(pid).ppid()
    except psutil.Error:
        return False
    return "suite.harness.zygote" in " ".join(_cmdline(pid)) and "suite.harness.zygote" in " ".join(
        _cmdline(parent)
    )


def check_interrupted_run(tmp_path: Path, how: str) -> None:
    [document] = saved(tmp_path / "results")
    suite = document["suite"]
    assert suite["complete"] is False
    assert suite["exit"] == "interrupted"
    statuses = {c["model"]: c["status"] for c in suite["cases"]}
    assert statuses == {"sequential": "ok", "processes-forkserver": "interrupted"}
    interrupted = next(c for c in suite["cases"] if c["status"] == "interrupted")
    assert how in interrupted["reason"]
    assert suite["not_run"] == ["b.yaml::test_case[threads-w4]"]
    # The finished case is saved as measured; the interrupted one is not saved as if it were.
    assert [b["extra_info"]["model"] for b in document["benchmarks"]] == ["sequential"]
    run = history.read_run(history.saved_files(tmp_path / "results")[0])
    assert any("incomplete run" in w for w in run.warnings())


def test_ctrl_c_in_the_background_exits_130_saves_finished_cases_and_leaves_nothing(
    write_scenario: WriteScenario, tmp_path: Path
) -> None:
    before = semaphores()
    code, seen, out = interrupt_second_case(tmp_path, two_scenarios(write_scenario), signal.SIGINT)
    assert code == 130, out
    assert len(seen) >= 6, "the worker, its forkserver, resource tracker and pool processes were seen"
    time.sleep(0.5)
    assert alive(seen) == set()
    assert semaphores() - before == set()
    check_interrupted_run(tmp_path, "SIGINT")


def test_sigterm_exits_143_and_leaves_no_semaphores(write_scenario: WriteScenario, tmp_path: Path) -> None:
    before = semaphores()
    # (a fork pool unlinks its semaphores at once; a forkserver pool's live in /dev/shm)
    code, seen, out = interrupt_second_case(tmp_path, two_scenarios(write_scenario), signal.SIGTERM)
    assert code == 143, out
    time.sleep(0.5)
    assert alive(seen) == set()
    assert semaphores() - before == set()
    check_interrupted_run(tmp_path, "SIGTERM")


def test_sigkill_of_the_suite_leaves_no_worker_behind(write_scenario: WriteScenario, tmp_path: Path) -> None:
    scenarios = two_scenarios(write_scenario)
    log = tmp_path / "out.log"
    proc = start_suite("run", str(scenarios), "--results", str(tmp_path / "results"), cwd=tmp_path, log=log)
    wait_for_text(log, "[1/3]", proc)
    time.sleep(1.5)
    seen = descendants(proc.pid)
    assert len(seen) >= 4
    proc.kill()
    proc.wait()
    deadline = time.monotonic() + 10
    while alive(seen) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert alive(seen) == set()


def test_server_death_mid_fan_out_fails_the_cases_fast_and_is_not_restarted(
    write_scenario: WriteScenario, tmp_path: Path
) -> None:
    scenario = write_scenario(
        """
        name: web
        workload: {kind: http, tasks: 20, latency_ms: 100}
        models: [asyncio, threads]
        workers: [4]
        rounds: 30
        warmup: 0
        """,
        name="web.yaml",
    )
    log = tmp_path / "out.log"
    proc = start_suite("run", str(scenario), "--results", str(tmp_path / "results"), cwd=tmp_path, log=log)
    try:
        deadline = time.monotonic() + 60
        servers: list[int] = []
        while not servers or not any(is_worker(p) for p in descendants(proc.pid)):
            assert time.monotonic() < deadline, log.read_text()
            servers = [
                p for p in descendants(proc.pid) if "suite.harness.httpbackend" in " ".join(_cmdline(p))
            ]
            time.sleep(0.05)
        time.sleep(1.0)
        killed_at = time.monotonic()
        os.kill(servers[0], signal.SIGKILL)
        code = proc.wait(timeout=60)
        elapsed = time.monotonic() - killed_at
    finally:
        if proc.poll() is None:
            proc.kill()
    assert code == 1
    assert elapsed < 10  # not 30 rounds of 0.5 s, nor a request timeout of 30 s
    [document] = saved(tmp_path / "results")
    reasons = {c["model"]: (c["status"], c["reason"]) for c in document["suite"]["cases"]}
    for model in ("asyncio", "threads"):
        status, reason = reasons[model]
        assert status == "failed"
        assert (
            "the backend suite.harness.httpbackend died during the run (killed by signal SIGKILL)" in reason
        )
    assert "while this case ran" in reasons["asyncio"][1]
    assert len(servers) == 1
    assert not any("suite.harness.httpbackend" in " ".join(_cmdline(p)) for p in descendants(os.getpid()))


def test_failed_and_timed_out_cases_are_saved_with_status_reason_and_traceback(
    write_scenario: WriteScenario, tmp_path: Path
) -> None:
    for kind in ("raise", "hang"):
        write_scenario(
            f"""
            name: fault-{kind}
            workload:
              kind: cpu
              tasks: 4
              iterations: 1000
              fault: {{kind: {kind}, at_task: 1}}
            models: [sequential]
            timeout_s: 0.5
            """,
            name=f"{kind}.yaml",
        )
    write_scenario(
        "name: fine\nworkload: {kind: cpu, tasks: 4, iterations: 1000}\nmodels: [sequential]\n",
        name="ok.yaml",
    )
    results = str(tmp_path / "results")
    result = run_suite("run", str(tmp_path), "--results", results, "--save", "faulty", cwd=tmp_path)
    # Cases an injected fault brings down are expected failures: the run itself succeeded.
    assert result.returncode == 0, result.stdout + result.stderr
    assert "XFAIL" in result.stdout
    [document] = saved(tmp_path / "results")
    cases = {c["scenario"]: c for c in document["suite"]["cases"]}
    assert document["suite"]["complete"] is True
    assert cases["fine"]["status"] == "ok"
    assert cases["fault-raise"]["status"] == "failed"
    assert cases["fault-raise"]["reason"].startswith("InjectedFault: fault injected at task 1")
    assert "Traceback" in cases["fault-raise"]["detail"]
    assert cases["fault-hang"]["status"] == "timeout"
    assert "timed out" in cases["fault-hang"]["reason"]
    assert [b["extra_info"]["scenario"] for b in document["benchmarks"]] == ["fine"]
    compared = run_suite("compare", "faulty", "--results", str(tmp_path / "results"), cwd=tmp_path)
    assert compared.returncode == 0, compared.stderr
    assert "fault-raise sequential-w1: failed: InjectedFault" in compared.stdout
    assert "fault-hang sequential-w1: timeout: " in compared.stdout
    # Still a file upstream pytest-benchmark reads.
    upstream = subprocess.run(
        [str(Path(sys.executable).with_name("pytest-benchmark")), "--storage", f"file://{results}", "list"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert upstream.returncode == 0, upstream.stderr
    assert "0001_faulty" in upstream.stdout


def test_saving_never_overwrites_and_concurrent_saves_get_their_own_numbers(tmp_path: Path) -> None:
    folder = tmp_path / "Linux-CPython-3.11-64bit"
    first = saving.save_run(folder, "same", {"benchmarks": [], "n": -1})
    before = first.read_bytes()
    paths: list[Path] = []
    threads = [
        threading.Thread(
            target=lambda i=i: paths.append(saving.save_run(folder, "same", {"benchmarks": [], "n": i}))
        )
        for i in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert first.read_bytes() == before
    assert len(set(paths)) == 8
    assert sorted(p.name for p in folder.iterdir()) == [f"{n:04d}_same.json" for n in range(1, 10)]
    assert sorted(json.loads(p.read_text())["n"] for p in paths) == list(range(8))


KILLED_WRITER = """
import sys
from pathlib import Path
from suite.results import saving
folder = Path(sys.argv[1])
document = {"benchmarks": [{"data": list(range(200_000))}]}
while True:
    saving.save_run(folder, "big", document)
    saving.write_atomic(folder.parent / "report.html", b"x" * 3_000_000)
"""


def test_a_kill_while_saving_leaves_every_saved_file_whole(tmp_path: Path) -> None:
    folder = tmp_path / "results" / "machine"
    saving.save_run(folder, "previous", {"benchmarks": [], "keep": True})
    for delay in (0.05, 0.2, 0.35, 0.5):
        writer = subprocess.Popen(
            [sys.executable, "-c", KILLED_WRITER, str(folder)], env={**os.environ, "PYTHONPATH": str(ROOT)}
        )
        time.sleep(0.3 + delay)
        writer.kill()
        writer.wait()
    files = sorted(folder.glob("*.json"))
    assert len(files) >= 2
    for path in files:
        json.loads(path.read_text())  # every file under a final name is complete
    assert json.loads(files[0].read_text()) == {"benchmarks": [], "keep": True}
    report = tmp_path / "results" / "report.html"
    assert report.read_bytes() == b"x" * 3_000_000
    assert [p.name for p in history.saved_files(tmp_path / "results")] == [p.name for p in files]


def test_a_bad_run_name_is_refused_before_anything_runs(tmp_path: Path) -> None:
    result = run_suite("run", "--save", "../escape", "--results", str(tmp_path / "r"), cwd=tmp_path)
    assert result.returncode == 2
    assert "a run's name may hold letters, digits and ._+- only" in result.stderr
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_before_the_session_begins_still_exits_cleanly(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], sig: int, code: int
) -> None:
    from suite import cli

    def signalled_while_loading(args: object, terminated: list[int]) -> int:
        os.kill(os.getpid(), sig)
        time.sleep(5)  # the handler interrupts this
        raise AssertionError("the signal was not delivered")

    monkeypatch.setattr(cli, "_run", signalled_while_loading)
    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    assert cli.main(["run", "nothing.yaml"]) == code
    assert "suite run: interrupted" in capsys.readouterr().err
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == before
