"""API throughput and latency, each as a ratio to a bare Quart app on the same server settings.

For each backend (SQLite; Postgres + Redis when reachable) and 1 and 2 server processes,
wrk holds 64 keep-alive connections on: GET /health, GET /api/v1/me with a JWT and with an
opaque token, an API-key GET, the first page and a deep cursor of a 10,000-row list, and a
write (create a support ticket when the support plugin is enabled). Prints a table and writes
bench/results/api.json.

    .venv/bin/python bench/api.py [--seconds 5] [--workers 1 2] [--backends sqlite postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import uuid
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import httpx
from harness import (
    Backend,
    Check,
    Server,
    backend,
    hello_server,
    login,
    postgres_available,
    print_table,
    print_targets,
    register,
    vetrai_server,
    wait_ready,
    write_results,
    wrk,
)

LIST_ROWS = 10_000
# The targets: scenario prefix -> least req/s ratio to bare Quart, on one process.
TARGETS = [
    ("GET /api/v1/me (JWT)", 0.70),
    ("GET /api/v1/me (opaque)", 0.70),
    ("GET /api/v1/keys/scopes (API key)", 0.70),
    ("GET /api/v1/users, 10k rows, first page", 0.40),
    ("GET /api/v1/users, 10k rows, deep cursor", 0.40),
    ("POST /api/v1/support/tickets (write)", 0.25),
]


def seed_users(server: Server, organization_id: str, count: int) -> str:
    """Insert ``count`` users straight into the database; returns a cursor deep in the list.

    In a fresh process: Tortoise keeps per-model SQL of the dialect it was first set up with,
    so one process must not seed SQLite and then Postgres.
    """
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(_seed_in_process, dict(server.env), organization_id, count).result()


def _seed_in_process(env: dict[str, str], organization_id: str, count: int) -> str:
    return asyncio.run(_seed_users(env, organization_id, count))


async def _seed_users(env: dict[str, str], organization_id: str, count: int) -> str:
    from vetrai.core.config import Settings
    from vetrai.core.db import close_db, init_db
    from vetrai.core.pagination import encode_cursor
    from vetrai.core.platform import Platform
    from vetrai.plugins.auth.models import User

    settings = Settings(
        data_dir=Path(env["VETRAI_DATA_DIR"]),
        database_url=env.get("VETRAI_DATABASE_URL"),
        plugins=env.get("VETRAI_PLUGINS", "").split(",") if env.get("VETRAI_PLUGINS") else None,
    )
    platform = Platform.build(settings)
    await init_db(platform.db_config)
    try:
        users = [
            User(
                id=uuid.uuid4(),
                organization_id=organization_id,
                email=f"seed-{index}@example.com",
                password_hash="!",
                role="user",
            )
            for index in range(count)
        ]
        await User.bulk_create(users, batch_size=1000)
        deep = (
            await User.filter(organization_id=organization_id)
            .order_by("-created_at", "-id")
            .offset(count - 100)
            .first()
        )
        assert deep is not None
        return encode_cursor(deep.created_at, deep.id)
    finally:
        await close_db()


def _plugins(base_url: str) -> set[str]:
    return {plugin["name"] for plugin in httpx.get(f"{base_url}/", timeout=10).json().get("plugins", [])}


def run_backend(backend_: Backend, workers: int, seconds: float) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    with hello_server(workers=workers) as hello:
        baseline = wrk(f"{hello.base_url}/", seconds=seconds)
    rows.append({"scenario": "bare Quart hello (baseline)", **baseline.as_dict(), "ratio": 1.0})
    with vetrai_server(backend_, workers=workers) as server:
        base = server.base_url
        wait_ready(base)
        registered = register(base)
        jwt = registered["access_token"]
        opaque = login(base, token_format="opaque")
        organization_id = registered["user"]["organization_id"]
        enabled = _plugins(base)
        deep_cursor = seed_users(server, organization_id, LIST_ROWS)
        bearer = {"Authorization": f"Bearer {jwt}"}
        scenarios: list[tuple[str, str, dict[str, Any]]] = [
            ("GET /health", "/health", {}),
            ("GET /api/v1/me (JWT)", "/api/v1/me", {"headers": bearer}),
            ("GET /api/v1/me (opaque)", "/api/v1/me", {"headers": {"Authorization": f"Bearer {opaque}"}}),
            ("GET /api/v1/users, 10k rows, first page", "/api/v1/users?limit=50", {"headers": bearer}),
            (
                "GET /api/v1/users, 10k rows, deep cursor",
                f"/api/v1/users?limit=50&cursor={deep_cursor}",
                {"headers": bearer},
            ),
        ]
        if "keys" in enabled:
            created = httpx.post(
                f"{base}/api/v1/keys",
                json={
                    "name": "bench",
                    "scopes": ["keys:read"],
                },
                headers=bearer,
                timeout=30,
            )
            created.raise_for_status()
            key = created.json()["key"]
            scenarios.append(
                (
                    "GET /api/v1/keys/scopes (API key)",
                    "/api/v1/keys/scopes",
                    {"headers": {"Authorization": f"Bearer {key}"}},
                )
            )
        if "support" in enabled:
            ticket = {"subject": "Bench ticket", "description": "Created by bench/api.py", "priority": "low"}
            scenarios.append(
                (
                    "POST /api/v1/support/tickets (write)",
                    "/api/v1/support/tickets",
                    {"headers": bearer, "method": "POST", "body": ticket},
                )
            )
        for name, path, options in scenarios:
            if options.get("method", "GET") == "GET":
                # One second unmeasured first: the first requests of a route build caches
                # (verified credentials, pydantic validators, prepared statements).
                wrk(f"{base}{path}", seconds=1, **options)
            result = wrk(f"{base}{path}", seconds=seconds, **options)
            rows.append({"scenario": name, **result.as_dict(), "ratio": result.rps / baseline.rps})
    return [{"backend": backend_.name, "workers": workers, **row} for row in rows]


def main(seconds: float, workers: list[int], backends: list[str]) -> None:
    if "postgres" in backends and not postgres_available():
        print("PostgreSQL is not reachable on 127.0.0.1:5432: measuring SQLite only")
        backends = [name for name in backends if name != "postgres"]
    rows: list[dict[str, Any]] = []
    for backend_name in backends:
        for count in workers:
            with backend(backend_name) as backend_:
                rows += run_backend(backend_, count, seconds)
    print_table(
        f"API at 64 connections, {seconds:g}s per scenario (ratio = req/s over the bare Quart app's)",
        ["backend", "workers", "scenario", "req/s", "p50 ms", "p99 ms", "errors", "ratio"],
        [
            [r["backend"], r["workers"], r["scenario"], r["rps"], r["p50_ms"], r["p99_ms"], r["errors"], r["ratio"]]
            for r in rows
        ],
    )
    checks = [
        Check(f"{row['scenario']} ({row['backend']}, 1 process) / bare Quart", row["ratio"], limit)
        for row in rows
        if row["workers"] == 1
        for prefix, limit in TARGETS
        if row["scenario"].startswith(prefix)
    ]
    targets = print_targets(checks)
    path = write_results("api", {"seconds_per_scenario": seconds, "connections": 64, "rows": rows, "targets": targets})
    print(f"\nwritten to {path}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgres"], choices=["sqlite", "postgres"])
    args = parser.parse_args()
    main(args.seconds, args.workers, args.backends)
