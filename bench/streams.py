"""Open event streams: what 1,000 idle SSE streams cost the database, and the API beside them.

`vetrai serve` on PostgreSQL + Redis (events through Redis pub/sub) with ``--streams`` queued
runs (no worker takes them, so their streams stay open and quiet). Queries are counted outside
the server: every statement of the server's autocommit connections is one transaction, so the
database's committed plus rolled-back transactions (``pg_stat_database``) per second are its
queries per second. The API's p99 is ``GET /api/v1/workers/jobs/<id>`` from ``--clients``
concurrent clients. Four windows of ``--seconds`` each: idle, the API load alone, the streams
alone, the streams with the API load.

Writes bench/results/streams.json.

    .venv/bin/python bench/streams.py [--streams 1000] [--seconds 20] [--clients 4]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import Any

import asyncpg
import httpx
from harness import (
    PG_ADMIN_URL,
    Check,
    backend,
    postgres_available,
    print_table,
    print_targets,
    register,
    vetrai_server,
    wait_ready,
    write_results,
)

from engine import lift_limits, percentile


async def _transactions(database: str) -> int:
    connection = await asyncpg.connect(PG_ADMIN_URL.replace("postgres://", "postgresql://"))
    try:
        await connection.execute("SELECT pg_stat_clear_snapshot()")
        row = await connection.fetchrow(
            "SELECT xact_commit + xact_rollback AS n FROM pg_stat_database WHERE datname = $1", database
        )
        return int(row["n"])
    finally:
        await connection.close()


async def _queries_per_second(database: str, seconds: float, load: Any = None) -> tuple[float, list[float]]:
    """Transactions/s of ``database`` over ``seconds`` (statistics are flushed about once a
    second: the window is bracketed by a settle of 1.5 s on both sides), with ``load`` running."""
    await asyncio.sleep(1.5)
    before = await _transactions(database)
    started = time.monotonic()
    latencies: list[float] = await load(seconds) if load is not None else await _idle(seconds)
    await asyncio.sleep(1.5)
    after = await _transactions(database)
    elapsed = time.monotonic() - started
    # Two statements of ours (the snapshot reads) are on another database: nothing to subtract.
    return (after - before) / elapsed, latencies


async def _idle(seconds: float) -> list[float]:
    await asyncio.sleep(seconds)
    return []


def _api_load(client: httpx.AsyncClient, job_ids: list[str], clients: int) -> Any:
    async def load(seconds: float) -> list[float]:
        latencies: list[float] = []
        deadline = time.monotonic() + seconds

        async def one(offset: int) -> None:
            index = offset
            while time.monotonic() < deadline:
                started = time.perf_counter()
                response = await client.get(f"/api/v1/workers/jobs/{job_ids[index % len(job_ids)]}")
                latencies.append(time.perf_counter() - started)
                response.raise_for_status()
                index += clients

        await asyncio.gather(*(one(offset) for offset in range(clients)))
        return latencies

    return load


async def _hold(client: httpx.AsyncClient, job_id: str, opened: asyncio.Event, counter: list[int]) -> None:
    async with client.stream("GET", f"/api/v1/workers/jobs/{job_id}/events") as response:
        response.raise_for_status()
        counter[0] += 1
        if counter[0] == counter[1]:
            opened.set()
        async for _ in response.aiter_bytes():
            pass


async def measure(
    base_url: str, token: str, database: str, streams: int, seconds: float, clients: int
) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"}
    rows: list[dict[str, Any]] = []
    async with (
        httpx.AsyncClient(base_url=base_url, headers=headers, timeout=60) as client,
        httpx.AsyncClient(
            base_url=base_url,
            headers=headers,
            timeout=httpx.Timeout(60, read=None),
            limits=httpx.Limits(max_connections=streams + 10, max_keepalive_connections=streams + 10),
        ) as streaming,
    ):
        job_ids: list[str] = []
        body = {"template": "sleep", "input": {"seconds": 1, "steps": 1}}
        for start in range(0, streams, 50):
            responses = await asyncio.gather(
                *(client.post("/api/v1/workers/jobs", json=body) for _ in range(min(50, streams - start)))
            )
            job_ids += [response.raise_for_status().json()["id"] for response in responses]
        load = _api_load(client, job_ids, clients)

        def row(scenario: str, count: int, qps: float, latencies: list[float]) -> None:
            p99 = percentile(latencies, 0.99) * 1000 if latencies else 0.0
            rows.append({"scenario": scenario, "streams": count, "queries_per_second": qps, "p99_ms": p99})

        qps, _ = await _queries_per_second(database, seconds)
        row("idle", 0, qps, [])
        qps, latencies = await _queries_per_second(database, seconds, load)
        row("API load", 0, qps, latencies)
        opened = asyncio.Event()
        counter = [0, streams]
        holders = [asyncio.create_task(_hold(streaming, job_id, opened, counter)) for job_id in job_ids]
        await asyncio.wait_for(opened.wait(), 300)
        qps, _ = await _queries_per_second(database, seconds)
        row("streams open", streams, qps, [])
        qps, latencies = await _queries_per_second(database, seconds, load)
        row("streams open + API load", streams, qps, latencies)
        for holder in holders:
            holder.cancel()
        await asyncio.gather(*holders, return_exceptions=True)
    return {"rows": rows}


def main(streams: int, seconds: float, clients: int) -> None:
    if not postgres_available():
        raise SystemExit("the streams benchmark counts queries in PostgreSQL's statistics: it needs PostgreSQL")
    with backend("postgres") as distributed, vetrai_server(distributed, plugins="auth,workers") as server:
        database = distributed.env["VETRAI_DATABASE_URL"].rsplit("/", 1)[1]
        wait_ready(server.base_url)
        registered = register(server.base_url)
        lift_limits(server, registered["user"]["organization_id"])
        report = asyncio.run(measure(server.base_url, registered["access_token"], database, streams, seconds, clients))
    report.update(backend="PostgreSQL + Redis", api_concurrency=clients, window_seconds=seconds)
    print_table(
        f"{streams} open SSE streams: database queries/s and the API's p99 beside them",
        ["scenario", "streams", "queries/s", "API p99 ms"],
        [[r["scenario"], r["streams"], r["queries_per_second"], r["p99_ms"]] for r in report["rows"]],
    )
    by_name = {r["scenario"]: r for r in report["rows"]}
    checks = [
        Check(
            f"database queries/s with {streams} streams open",
            by_name["streams open"]["queries_per_second"],
            50,
            higher_is_better=False,
            unit="/s",
        ),
        Check(
            f"API p99 beside {streams} open streams",
            by_name["streams open + API load"]["p99_ms"],
            50,
            higher_is_better=False,
            unit=" ms",
        ),
    ]
    report["targets"] = print_targets(checks)
    write_results("streams", report)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--clients", type=int, default=4)
    arguments = parser.parse_args()
    main(arguments.streams, arguments.seconds, arguments.clients)
