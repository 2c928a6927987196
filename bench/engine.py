"""Workflow engine: what distribution costs over running the graph in-process, and how it scales.

1. Submit-to-succeeded latency of the `echo` workflow through the API (in-memory broker, run
   inside the server on SQLite; and on Postgres + Redis with one worker process), seen by polling
   the job and on the run's event stream, against `ainvoke` of the same graph with the same
   SQLite checkpointer in this process.
2. Echo runs/s with 1 and 2 `vetrai worker` processes (Postgres + Redis).
3. Cancel latency p50/p99: from POST cancel to the job reading `cancelled`.
4. Memory of one worker holding 1,000 concurrent `sleep` runs, against the same worker idle.

Writes bench/results/engine.json.

    .venv/bin/python bench/engine.py [--runs 50] [--jobs 300] [--concurrent 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from harness import (
    Check,
    Server,
    backend,
    postgres_available,
    print_table,
    print_targets,
    register,
    superuser_token,
    vetrai_server,
    vetrai_worker,
    wait_ready,
    write_results,
)

TERMINAL = {"succeeded", "failed", "cancelled", "timed_out", "interrupted"}
UNLIMITED = {"max_concurrent_jobs": 1_000_000, "max_monthly_jobs": 1_000_000_000}


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


async def in_process_echo(runs: int) -> list[float]:
    """The baseline: the echo graph compiled with an AsyncSqliteSaver, invoked directly."""
    import aiosqlite
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    from vetrai.engine.spec import get_workflow

    spec = get_workflow("echo")
    assert spec is not None
    with tempfile.TemporaryDirectory() as tmp:
        connection = await aiosqlite.connect(str(Path(tmp) / "checkpoints.sqlite3"))
        await connection.execute("PRAGMA journal_mode=WAL")
        saver = AsyncSqliteSaver(connection)
        await saver.setup()
        graph = spec.build().compile(checkpointer=saver)
        latencies = []
        for index in range(runs):
            started = time.perf_counter()
            await graph.ainvoke(spec.to_state({"index": index}), {"configurable": {"thread_id": str(uuid.uuid4())}})
            latencies.append(time.perf_counter() - started)
        await connection.close()
    return latencies


async def wait_status(
    client: httpx.AsyncClient, job_id: str, statuses: set[str], poll: float = 0.002
) -> dict[str, Any]:
    while True:
        job = (await client.get(f"/api/v1/workers/jobs/{job_id}")).json()
        if job["status"] in statuses:
            return job
        await asyncio.sleep(poll)


async def submit(client: httpx.AsyncClient, template: str, payload: dict[str, Any]) -> str:
    response = await client.post("/api/v1/workers/jobs", json={"template": template, "input": payload})
    response.raise_for_status()
    return response.json()["id"]


async def api_echo(server: Server, token: str, runs: int, *, stream: bool = False) -> list[float]:
    """Submit to done, one run at a time: seen by polling the job every 2 ms, or (``stream``)
    as the final status event of the run's event stream (push: nothing polls the server)."""
    latencies = []
    async with httpx.AsyncClient(
        base_url=server.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=60
    ) as client:
        for index in range(runs):
            started = time.perf_counter()
            job_id = await submit(client, "echo", {"index": index})
            if stream:
                assert await final_status(client, job_id) == "succeeded"
            else:
                job = await wait_status(client, job_id, TERMINAL)
                assert job["status"] == "succeeded", job
            latencies.append(time.perf_counter() - started)
    return latencies


async def final_status(client: httpx.AsyncClient, job_id: str) -> str:
    """Read the run's Server-Sent Events until its final status event."""
    event = ""
    async with client.stream("GET", f"/api/v1/workers/jobs/{job_id}/events") as response:
        async for line in response.aiter_lines():
            if line.startswith("event: "):
                event = line.removeprefix("event: ")
            elif line.startswith("data: ") and event == "status":
                status = json.loads(line.removeprefix("data: "))["data"]["status"]
                if status in TERMINAL:
                    return str(status)
    raise AssertionError(f"the event stream of {job_id} ended without a final status")


async def cancel_latencies(server: Server, token: str, runs: int) -> list[float]:
    latencies = []
    async with httpx.AsyncClient(
        base_url=server.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=60
    ) as client:
        for _ in range(runs):
            job_id = await submit(client, "sleep", {"seconds": 60, "steps": 60})
            await wait_status(client, job_id, {"running"}, poll=0.01)
            started = time.perf_counter()
            (await client.post(f"/api/v1/workers/jobs/{job_id}/cancel")).raise_for_status()
            job = await wait_status(client, job_id, TERMINAL)
            assert job["status"] == "cancelled", job
            latencies.append(time.perf_counter() - started)
    return latencies


async def throughput(server: Server, token: str, jobs: int) -> float:
    async with httpx.AsyncClient(
        base_url=server.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=120
    ) as client:
        started = time.perf_counter()
        ids = await asyncio.gather(*(submit(client, "echo", {"index": index}) for index in range(jobs)))
        pending = set(ids)
        while pending:
            page = (await client.get("/api/v1/workers/jobs", params={"status": "succeeded", "limit": 200})).json()
            done = 0
            cursor = None
            while True:
                for item in page["items"]:
                    pending.discard(item["id"])
                done += len(page["items"])
                cursor = page.get("next_cursor")
                if not cursor or not pending:
                    break
                page = (
                    await client.get(
                        "/api/v1/workers/jobs", params={"status": "succeeded", "limit": 200, "cursor": cursor}
                    )
                ).json()
            if pending:
                await asyncio.sleep(0.05)
        return jobs / (time.perf_counter() - started)


async def hold_sleeps(server: Server, token: str, count: int, worker_pid: int) -> tuple[int, int, int]:
    """(idle RSS, RSS with ``count`` sleep runs in flight, runs seen running)."""
    idle = Server.rss_of(worker_pid)
    async with httpx.AsyncClient(
        base_url=server.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=120
    ) as client:
        semaphore = asyncio.Semaphore(64)

        async def one() -> str:
            async with semaphore:
                return await submit(client, "sleep", {"seconds": 30, "steps": 3})

        await asyncio.gather(*(one() for _ in range(count)))
        deadline = time.monotonic() + 60
        running = 0
        while time.monotonic() < deadline:
            running = 0
            cursor = None
            while True:
                params: dict[str, Any] = {"status": "running", "limit": 200}
                if cursor:
                    params["cursor"] = cursor
                page = (await client.get("/api/v1/workers/jobs", params=params)).json()
                running += len(page["items"])
                cursor = page.get("next_cursor")
                if not cursor:
                    break
            if running >= count * 0.95:
                break
            await asyncio.sleep(0.5)
        return idle, Server.rss_of(worker_pid), running


def lift_limits(server: Server, organization_id: str) -> None:
    """Benchmarks are not about plan quotas: a super_admin lifts the organization's."""
    token = superuser_token(server)
    response = httpx.put(
        f"{server.base_url}/api/v1/organizations/{organization_id}",
        json={"limits": UNLIMITED},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    response.raise_for_status()


def main(runs: int, jobs: int, concurrent: int) -> None:
    report: dict[str, Any] = {}
    rows: list[list[Any]] = []
    baseline = asyncio.run(in_process_echo(runs))
    with backend("sqlite") as embedded, vetrai_server(embedded, plugins="auth,workers") as server:
        wait_ready(server.base_url)
        registered = register(server.base_url)
        lift_limits(server, registered["user"]["organization_id"])
        api = asyncio.run(api_echo(server, registered["access_token"], runs))
        pushed = asyncio.run(api_echo(server, registered["access_token"], runs, stream=True))
        cancels = asyncio.run(cancel_latencies(server, registered["access_token"], max(10, runs // 2)))
    base_p50, pushed_p50 = statistics.median(baseline), statistics.median(pushed)
    rows.append(["echo, in-process ainvoke (baseline)", base_p50 * 1000, percentile(baseline, 0.99) * 1000, 1.0])
    for name, values in (
        ("echo, POST to succeeded seen polling every 2 ms (SQLite, in-server)", api),
        ("echo, POST to succeeded seen on its event stream (SQLite, in-server)", pushed),
    ):
        p50 = statistics.median(values)
        rows.append([name, p50 * 1000, percentile(values, 0.99) * 1000, p50 / base_p50])
    rows.append(
        ["cancel to cancelled (SQLite)", statistics.median(cancels) * 1000, percentile(cancels, 0.99) * 1000, ""]
    )
    report["latency_seconds"] = {"in_process": baseline, "api": api, "api_stream": pushed, "cancel": cancels}
    print_table("Engine latency (ratio = p50 over the in-process p50)", ["scenario", "p50 ms", "p99 ms", "ratio"], rows)

    checks = [
        Check(
            "echo p50 over the in-process floor, event stream (embedded SQLite)",
            (pushed_p50 - base_p50) * 1000,
            15,
            higher_is_better=False,
            unit=" ms",
        ),
        Check("cancel to cancelled, p99", percentile(cancels, 0.99) * 1000, 100, higher_is_better=False, unit=" ms"),
    ]
    if not postgres_available():
        print("PostgreSQL is not reachable: skipping the worker throughput and memory measurements")
        report["targets"] = print_targets(checks)
        write_results("engine", report)
        return
    scale_rows: list[list[Any]] = []
    for processes in (1, 2):
        with backend("postgres") as distributed, vetrai_server(distributed, plugins="auth,workers") as server:
            wait_ready(server.base_url)
            registered = register(server.base_url)
            lift_limits(server, registered["user"]["organization_id"])
            with vetrai_worker(server, processes=processes):
                if processes == 1:
                    time.sleep(2)  # the worker connects to the broker
                    distributed_latency = asyncio.run(api_echo(server, registered["access_token"], runs, stream=True))
                rate = asyncio.run(throughput(server, registered["access_token"], jobs))
            scale_rows.append([f"echo runs/s, {processes} worker process(es)", rate])
            report[f"echo_runs_per_second_{processes}_workers"] = rate
    with backend("postgres") as distributed, vetrai_server(distributed, plugins="auth,workers") as server:
        wait_ready(server.base_url)
        registered = register(server.base_url)
        lift_limits(server, registered["user"]["organization_id"])
        with vetrai_worker(server, processes=1, concurrency=concurrent + 50) as worker:
            time.sleep(3)
            idle, loaded, running = asyncio.run(hold_sleeps(server, registered["access_token"], concurrent, worker.pid))
    scale_rows.append(
        [f"worker RSS MiB idle / with {running} sleep runs in flight", f"{idle / 2**20:.0f} / {loaded / 2**20:.0f}"]
    )
    scale_rows.append(["worker memory per in-flight run, KiB", (loaded - idle) / max(1, running) / 1024])
    report["memory"] = {"idle_rss": idle, "loaded_rss": loaded, "running": running}
    report["throughput_ratio_2_over_1"] = (
        report["echo_runs_per_second_2_workers"] / report["echo_runs_per_second_1_workers"]
    )
    scale_rows.append(["2 workers over 1 (ratio)", report["throughput_ratio_2_over_1"]])
    distributed_p50 = statistics.median(distributed_latency)
    report["latency_seconds"]["distributed_stream"] = distributed_latency
    scale_rows.append(
        [
            "echo, POST to succeeded seen on its event stream, p50 / p99 ms",
            f"{distributed_p50 * 1000:.1f} / {percentile(distributed_latency, 0.99) * 1000:.1f}",
        ]
    )
    print_table("Engine on Postgres + Redis", ["measurement", "value"], scale_rows)
    checks += [
        Check("echo runs/s, Postgres + Redis, one worker", report["echo_runs_per_second_1_workers"], 200, unit=""),
        Check(
            "echo p50 over the in-process floor, event stream (Postgres + Redis + worker)",
            (distributed_p50 - base_p50) * 1000,
            15,
            higher_is_better=False,
            unit=" ms",
        ),
        Check(
            f"worker RSS with {running} sleep runs in flight",
            loaded / 2**20,
            300,
            higher_is_better=False,
            unit=" MiB",
        ),
    ]
    report["targets"] = print_targets(checks)
    path = write_results("engine", report)
    print(f"\nwritten to {path}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--jobs", type=int, default=300)
    parser.add_argument("--concurrent", type=int, default=1000)
    args = parser.parse_args()
    main(args.runs, args.jobs, args.concurrent)
