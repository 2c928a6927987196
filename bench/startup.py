"""Start-up time to ready and resident memory of `vetrai serve` with every plugin.

Compared with the bare Quart app on the same hypercorn settings, in the same run; the median
of ``--runs`` cold starts. Writes bench/results/startup.json.

    .venv/bin/python bench/startup.py [--runs 3]
"""

from __future__ import annotations

import argparse
import statistics
import time

from harness import Check, backend, hello_server, print_table, print_targets, vetrai_server, wait_ready, write_results


def measure_vetrai() -> tuple[float, int]:
    started = time.perf_counter()
    with backend("sqlite") as backend_, vetrai_server(backend_) as server:
        wait_ready(server.base_url, "/health/ready")
        elapsed = time.perf_counter() - started
        return elapsed, server.rss_bytes()


def measure_hello() -> tuple[float, int]:
    started = time.perf_counter()
    with hello_server() as server:
        return time.perf_counter() - started, server.rss_bytes()


def main(runs: int) -> None:
    vetrai = [measure_vetrai() for _ in range(runs)]
    hello = [measure_hello() for _ in range(runs)]
    v_time, v_rss = statistics.median(t for t, _ in vetrai), statistics.median(r for _, r in vetrai)
    h_time, h_rss = statistics.median(t for t, _ in hello), statistics.median(r for _, r in hello)
    print_table(
        f"Cold start to ready, median of {runs} (SQLite, fresh data directory: includes migrating)",
        ["server", "seconds to ready", "RSS MiB", "time ratio", "RSS ratio"],
        [
            ["bare Quart hello", h_time, h_rss / 2**20, 1.0, 1.0],
            ["vetrai serve, all plugins", v_time, v_rss / 2**20, v_time / h_time, v_rss / h_rss],
        ],
    )
    targets = print_targets(
        [
            Check("start-up to ready, every plugin", v_time, 1.5, higher_is_better=False, unit=" s"),
            Check("resident memory, every plugin", v_rss / 2**20, 150, higher_is_better=False, unit=" MiB"),
        ]
    )
    path = write_results(
        "startup",
        {
            "runs": runs,
            "vetrai": {"seconds": v_time, "rss_bytes": v_rss},
            "hello": {"seconds": h_time, "rss_bytes": h_rss},
            "targets": targets,
        },
    )
    print(f"\nwritten to {path}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    main(parser.parse_args().runs)
