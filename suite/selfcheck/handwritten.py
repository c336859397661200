"""Plain hand-written timing of the suite's workloads, to measure the suite against.

Deliberately self-contained: it imports nothing from the suite, and does what a careful
person's script would: build the pool or loop first, run a warm-up round, then time
each round with perf_counter around asyncio.gather (with a semaphore),
ThreadPoolExecutor.map, ProcessPoolExecutor.map or a plain loop.

    python handwritten.py MODEL KIND PARAMS_JSON WORKERS ROUNDS WARMUP

prints the measured round durations as a JSON list.
"""

import asyncio
import hashlib
import json
import random
import sys
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

PARAMS = {}
BUFFER = b""


def setup(params):
    global PARAMS, BUFFER
    PARAMS = params
    if "bytes" in params:
        BUFFER = random.Random(params["bytes"]).randbytes(params["bytes"])


def cpu_task(i):
    x = i
    for _ in range(PARAMS["iterations"]):
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
    return x


def hash_task(i):
    digest = hashlib.new(PARAMS.get("algorithm", "sha256"))
    digest.update(i.to_bytes(8, "little"))
    for _ in range(PARAMS.get("repeat", 1)):
        digest.update(BUFFER)
    return int.from_bytes(digest.digest()[:8], "little")


def sleep_task(i):
    time.sleep(PARAMS["latency_ms"] / 1000)
    return i


async def async_task(kind, i):
    if kind == "sleep":
        # Sleep again until the full time has passed: uvloop's timers can end early.
        deadline = time.perf_counter() + PARAMS["latency_ms"] / 1000
        while (left := deadline - time.perf_counter()) > 0:
            await asyncio.sleep(left)
        return i
    return TASKS[kind](i)


TASKS = {"cpu": cpu_task, "hash": hash_task, "sleep": sleep_task}


def timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def run_async(kind, tasks, workers, rounds, loop_factory):
    async def one_round():
        semaphore = asyncio.Semaphore(workers)

        async def limited(i):
            async with semaphore:
                return await async_task(kind, i)

        start = time.perf_counter()
        await asyncio.gather(*(limited(i) for i in range(tasks)))
        return time.perf_counter() - start

    with asyncio.Runner(loop_factory=loop_factory) as runner:
        return [runner.run(one_round()) for _ in range(rounds)]


def main(model, kind, params_json, workers, rounds, warmup):
    params = json.loads(params_json)
    setup(params)
    tasks, workers, total = params["tasks"], int(workers), int(rounds) + int(warmup)
    task = TASKS[kind]
    if model == "sequential":
        durations = [timed(lambda: [task(i) for i in range(tasks)]) for _ in range(total)]
    elif model in ("asyncio", "uvloop"):
        factory = None
        if model == "uvloop":
            import uvloop

            factory = uvloop.new_event_loop
        durations = run_async(kind, tasks, workers, total, factory)
    elif model == "threads":
        with ThreadPoolExecutor(workers) as pool:
            durations = [timed(lambda: list(pool.map(task, range(tasks)))) for _ in range(total)]
    elif model == "processes":
        with ProcessPoolExecutor(workers, initializer=setup, initargs=(params,)) as pool:
            durations = [timed(lambda: list(pool.map(task, range(tasks)))) for _ in range(total)]
    else:
        raise SystemExit(f"unknown model {model}")
    print(json.dumps(durations[int(warmup) :]))


if __name__ == "__main__":
    main(*sys.argv[1:])
