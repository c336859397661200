"""What the suite keeps of one case: the one typed record from the worker to every report.

The harness builds a :class:`CaseRecord` for each case that began (measured in batch or
serve mode, or failed), pytest-benchmark stores a measured case's record as its
``extra_info`` beside its own ``stats``, and the saved run lists the failed ones under
``suite.cases``. Every reader in :mod:`suite.results` receives these objects from
:func:`suite.results.history.read_run` (or the run's own outcomes, for the summary after
it) and reads fields by name, so a renamed field is a type error rather than a silent
``None``.

Fields are optional: files written by plain pytest-benchmark carry none of them, and a
failed case has only what was known before it failed. Names a workload kind adds of its
own (its counters, or figures under the names its users expect) are kept as extra
fields and read with :meth:`CaseRecord.figure`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

#: Percentiles of a set of durations: ``p50``, ``p90``, ``p99``, ``max``, in ms.
Percentiles = dict[str, float]


class LoadPoint(BaseModel):
    """One load point of a serve case: closed (``connections`` kept busy) or open
    (``rate_rps`` arrivals a second, ``arrival`` pattern, at most ``connections``)."""

    model_config = ConfigDict(extra="allow", strict=True)
    mode: Literal["closed", "open"]
    label: str
    connections: int | None = None
    rate_rps: float | None = None
    arrival: str | None = None
    duration_s: float | None = None
    warmup_s: float | None = None
    timeout_s: float | None = None

    @property
    def rank(self) -> tuple[int, float]:
        """Closed points first by connections, then open ones by rate."""
        if self.mode == "closed":
            return 0, float(self.connections or 0)
        return 1, float(self.rate_rps or 0)


class CaseRecord(BaseModel):
    """One case of a run: what ran, where, how it ended, and the figures that explain it."""

    model_config = ConfigDict(extra="allow", strict=True, validate_assignment=True)

    # What ran.
    mode: Literal["batch", "serve"] = "batch"
    scenario: str | None = None
    model: str | None = None
    workers: int | None = None
    workload: str | None = None
    tasks: int | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    #: ``suite ab``'s side (``A`` or ``B``); ``None`` outside an A/B run.
    side: str | None = None
    #: pytest's names of the case (kept for failed cases, which have no benchmark entry).
    name: str | None = None
    fullname: str | None = None

    # Where it ran.
    #: ``cpython-3.13.0t (GIL off)``-style label; in the run's outcomes and failed cases.
    interpreter: str | None = None
    python: str | None = None
    implementation: str | None = None
    gil_enabled: bool | None = None
    free_threaded: bool | None = None
    cpu_count: int | None = None
    usable_cpus: int | None = None
    start_method: str | None = None

    # How it ended.
    #: ``ok``, ``degraded`` (measured, with errors) or why it was not measured: ``failed``,
    #: ``timeout``, ``incorrect``, ``interrupted``, ``unavailable``.
    status: str = "ok"
    reason: str | None = None
    #: The end of a failed case's traceback or the worker's stderr.
    detail: str | None = None
    checksum: str | None = None
    errors: dict[str, int] = Field(default_factory=dict)
    #: An unguarded update of shared state that went missing (``incorrect`` cases).
    lost_updates: int | None = None
    updates: int | None = None

    # The rounds (batch mode).
    #: The median round, in seconds: in the run's own outcomes (saved runs keep ``stats``).
    median_s: float | None = None
    startup_s: float | None = None
    warmup_s: list[float] = Field(default_factory=list)
    #: Ran in its scenario's interleaved group: one round each per cycle, shuffled.
    interleaved: bool = False
    #: The group cycle of each round: rounds of one cycle ran side by side.
    cycles: list[int] | None = None
    #: The cycles were inferred from the rounds' positions (a run saved before they were kept).
    cycles_from_position: bool = False
    #: Rounds added after the planned ones, for uncertain cases only.
    extra_rounds: int = 0
    #: Why an interleaved scenario's case ran alone.
    alone_reason: str | None = None
    cv: float | None = None
    unstable: bool = False

    # What the rounds mean.
    speedup: float | None = None
    speedup_interval: list[float] | None = None
    #: The speedup is the median of each cycle's ratio to sequential (both interleaved).
    paired: bool = False
    ideal_s: float | None = None
    efficiency: float | None = None
    us_per_task: float | None = None
    throughput_per_s: float | None = None
    tasks_ok: int | None = None
    task_ms: Percentiles | None = None
    queue_ms: Percentiles | None = None
    task_cdf_ms: list[float] | None = None
    #: Instructions one task executes (valgrind), identical run to run; or why none.
    instructions_per_task: int | None = None
    instructions_note: str | None = None
    #: Pickling one round's data once, measured after it (payload workloads).
    serialize_s: float | None = None

    # What it cost.
    cpu_user_s: float | None = None
    cpu_sys_s: float | None = None
    parallelism: float | None = None
    ctx_switches: dict[str, float | None] = Field(default_factory=dict)
    peak_rss_bytes: int | None = None
    uss_bytes: int | None = None
    pss_bytes: int | None = None
    worker_processes: int = 1
    native_threads: dict[str, int] | None = None
    native_limit: int | None = None

    # A server behind the work (fan-out kinds) or under load (serve mode).
    server_cpu_s: float | None = None
    new_connections: float | None = None
    latency_ms: Percentiles | None = None
    requests_ok: int | None = None
    throughput_rps: float | None = None

    # Serve mode: one load point.
    fanout: int | None = None
    load: LoadPoint | None = None
    slo_p99_ms: float | None = None
    offered_rps: float | None = None
    achieved_rps: float | None = None
    requests_sent: int | None = None
    generator_cpu_s: float | None = None
    #: The handler's own backend (the db kind's PostgreSQL, the http kind's server): its
    #: process tree's CPU over the load point, beside the serving model's.
    backend_cpu_s: float | None = None
    generator_lag_ms_p99: float | None = None
    generator_limited: bool = False
    connections_opened: int | None = None
    server_rss_bytes: int | None = None
    saturated: bool = False

    @property
    def measured(self) -> bool:
        """Whether the case has rounds (``ok`` or ``degraded``)."""
        return self.status in ("ok", "degraded")

    @property
    def serve(self) -> bool:
        return self.mode == "serve"

    @property
    def point(self) -> str | None:
        """A serve case's load point (``closed16``, ``open800``); ``None`` in batch mode."""
        return self.load.label if self.load else None

    @property
    def cpu_s(self) -> float:
        """CPU of the whole process tree per round, user and system."""
        return (self.cpu_user_s or 0.0) + (self.cpu_sys_s or 0.0)

    def p99_ms(self) -> float | None:
        """The 99th percentile latency of answered requests (serve and fan-out kinds)."""
        return self.latency_ms.get("p99") if self.latency_ms else None

    @property
    def in_bytes(self) -> int:
        """The data each task receives (the workload's ``payload.in_bytes``), 0 without one."""
        payload = self.params.get("payload")
        return int(payload.get("in_bytes") or 0) if isinstance(payload, dict) else 0

    @property
    def lost(self) -> tuple[int, int] | None:
        """Updates of shared state lost and tried, for an ``incorrect`` case that counted them."""
        if self.lost_updates is None or not self.updates:
            return None
        return self.lost_updates, self.updates

    def figure(self, name: str) -> Any:
        """A field by a name given at run time (a claim's measure, a kind's own counter)."""
        if name in type(self).model_fields:
            return getattr(self, name)
        return (self.model_extra or {}).get(name)

    def stored(self) -> dict[str, Any]:
        """The record as the run file keeps it (``extra_info``; fields never set are left out)."""
        return self.model_dump(mode="json", exclude_unset=True)
