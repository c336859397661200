"""The common claims ``suite findings`` checks, and the roles in which a scenario feeds one.

A claim ("threads never run Python in parallel") is judged from scenarios that play a
part in it: pure-Python work that holds the GIL, work in a library that releases it, and
so on. Which scenario plays which part is said in the scenario file, never in the code
that judges the claim::

    feeds:
      - {claim: threads-never-parallel, role: gil-bound, label: a pure-Python loop}

so a scenario can be renamed, and a user's own scenario can feed a claim, without a
change here. The judging is in :mod:`suite.results.findings`; this catalogue is what a
scenario file is checked against.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Claim:
    """A claim's words and the roles scenarios can feed it in (role: what it needs)."""

    title: str
    roles: dict[str, str]


CLAIMS: dict[str, Claim] = {
    "threads-never-parallel": Claim(
        "Threads never run Python in parallel",
        {
            "gil-bound": "pure-Python CPU work (holds the GIL), with threads and sequential",
            "releases-gil": "CPU work in a library that releases the GIL (label: the library)",
        },
    ),
    "processes-faster-for-cpu": Claim(
        "Processes are faster for CPU work",
        {
            "gil-bound": "pure-Python CPU work, with processes and sequential",
            "releases-gil": "CPU work that releases the GIL, with threads and processes",
            "tiny-tasks": "near-empty tasks, with processes and sequential (dispatch cost)",
        },
    ),
    "async-drivers-beat-threads": Claim(
        "asyncio drivers beat a thread pool for database work",
        {"db": "database queries at several worker counts, with asyncio and threads (label: what they do)"},
    ),
    "threads-are-for-io": Claim(
        "Threads are for I/O", {"io": "tasks that wait (sleep, network, disk), with threads"}
    ),
    "asyncio-beats-threads": Claim(
        "asyncio beats threads for I/O",
        {
            "fanout": "network requests at several worker counts, with asyncio and threads",
            "many-connections": "thousands of requests in flight, with asyncio",
        },
    ),
    "threads-for-web-servers": Claim(
        "Threads are for web servers", {"server": "a serve-mode scenario with a threads server"}
    ),
    "processes-cost-memory": Claim(
        "Processes cost memory",
        {"memory": "the same work at two or more worker counts, with asyncio, threads and processes"},
    ),
    "work-goes-on": Claim(
        "If one process fails, the work goes on", {"one-task-dies": "a task that kills its own process"}
    ),
    "gil-prevents-conflicts": Claim(
        "The GIL prevents conflicts between threads sharing data",
        {
            "unlocked": "a shared-state scenario without a lock",
            "locked": "the first unlocked scenario's twin, with a lock",
        },
    ),
    "processes-faster-for-big-data": Claim(
        "Processes are faster for big data",
        {"big-inputs": "tasks that receive a large payload, with threads and processes"},
    ),
    "processes-speed-up-numpy": Claim(
        "Use processes to speed up numpy",
        {
            "as-set": "numpy work with native pools as the library sets them",
            "limited": "the same work with native_threads: auto",
        },
    ),
    "free-threaded-threads": Claim(
        "Free-threaded Python makes threads the answer for CPU work",
        {
            "gil-bound": "pure-Python CPU work, run under a free-threaded build",
            "task-local": "the same loop on task-local objects",
        },
    ),
}
