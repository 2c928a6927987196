"""Password logins (argon2id) per second, and whether the event loop stays responsive meanwhile.

Hashing runs in a thread, so a login storm should slow /health only by the CPU it takes, not
block it: the table shows /health p99 idle and during the storm, and their ratio. Writes
bench/results/login.json.

    .venv/bin/python bench/login.py [--seconds 5]
"""

from __future__ import annotations

import argparse
from concurrent.futures import ThreadPoolExecutor

from harness import PASSWORD, backend, print_table, register, vetrai_server, wait_ready, write_results, wrk


def main(seconds: float) -> None:
    with backend("sqlite") as backend_, vetrai_server(backend_, plugins="auth") as server:
        base = server.base_url
        wait_ready(base)
        register(base)
        credentials = {"email": "bench@example.com", "password": PASSWORD}
        idle = wrk(f"{base}/health", seconds=seconds, connections=4)
        with ThreadPoolExecutor(2) as pool:
            storm_future = pool.submit(
                wrk, f"{base}/api/v1/login", seconds=seconds, connections=16, method="POST", body=credentials
            )
            during_future = pool.submit(wrk, f"{base}/health", seconds=seconds, connections=4)
            storm, during = storm_future.result(), during_future.result()
    rows = [
        ["POST /api/v1/login (argon2id), 16 connections", storm.rps, storm.p50_ms, storm.p99_ms, storm.errors, ""],
        ["GET /health, 4 connections, idle", idle.rps, idle.p50_ms, idle.p99_ms, idle.errors, 1.0],
        [
            "GET /health, 4 connections, during the storm",
            during.rps,
            during.p50_ms,
            during.p99_ms,
            during.errors,
            during.p99_ms / idle.p99_ms,
        ],
    ]
    print_table(
        "Login storm (ratio = /health p99 over its idle p99)",
        ["scenario", "req/s", "p50 ms", "p99 ms", "errors", "p99 ratio"],
        rows,
    )
    path = write_results(
        "login",
        {
            "seconds": seconds,
            "logins_per_second": storm.rps,
            "login": storm.as_dict(),
            "health_idle": idle.as_dict(),
            "health_during_storm": during.as_dict(),
            "health_p99_ratio": during.p99_ms / idle.p99_ms,
        },
    )
    print(f"\nwritten to {path}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    main(parser.parse_args().seconds)
