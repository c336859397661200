"""Interpreter facts: the free-threaded and GIL labels come from the right signals."""

from __future__ import annotations

import sys
import sysconfig

import pytest

from suite.harness import environment


@pytest.mark.parametrize(("value", "expected"), [(None, False), (0, False), (1, True)])
def test_free_threaded_reads_the_build_flag(
    monkeypatch: pytest.MonkeyPatch, value: object, expected: bool
) -> None:
    # 3.11 has no such variable (None), GIL builds of 3.13 say 0: neither is free-threaded.
    real = sysconfig.get_config_var
    monkeypatch.setattr(
        sysconfig, "get_config_var", lambda name: value if name == "Py_GIL_DISABLED" else real(name)
    )
    assert environment.free_threaded() is expected


@pytest.mark.parametrize("enabled", [True, False])
def test_gil_state_at_run_time(monkeypatch: pytest.MonkeyPatch, enabled: bool) -> None:
    monkeypatch.setattr(sys, "_is_gil_enabled", lambda: enabled, raising=False)
    assert environment.gil_enabled() is enabled


def test_gil_assumed_on_before_313(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(sys, "_is_gil_enabled", raising=False)
    assert environment.gil_enabled() is True


def test_describe_has_every_label() -> None:
    info = environment.describe()
    assert set(info) == {
        "python",
        "implementation",
        "executable",
        "gil_enabled",
        "free_threaded",
        "cpu_count",
        "usable_cpus",
    }
    assert 1 <= info["usable_cpus"] <= info["cpu_count"]
