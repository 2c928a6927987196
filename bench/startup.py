"""Start-up time to ready and resident memory of `vetrai serve` with every plugin.

Compared with the bare Quart app on the same hypercorn settings, in the same run; the median
of ``--runs`` cold starts. Each run starts twice on one data directory: the first start
migrates an empty database (once per installation), the restart is what every later start
(a deploy, a crash, scaling out) costs, and carries the targets. Writes
bench/results/startup.json.

    .venv/bin/python bench/startup.py [--runs 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from harness import Check, backend, hello_server, print_table, print_targets, vetrai_server, wait_ready, write_results


def measure_vetrai(data_dir: Path) -> tuple[float, int]:
    started = time.perf_counter()
    with backend("sqlite") as backend_, vetrai_server(backend_, data_dir=data_dir) as server:
        wait_ready(server.base_url, "/health/ready")
        elapsed = time.perf_counter() - started
        return elapsed, server.rss_bytes()


def first_start_and_restart() -> tuple[tuple[float, int], tuple[float, int]]:
    with tempfile.TemporaryDirectory(prefix="vetrai-startup-") as tmp:
        return measure_vetrai(Path(tmp)), measure_vetrai(Path(tmp))


def measure_hello() -> tuple[float, int]:
    started = time.perf_counter()
    with hello_server() as server:
        return time.perf_counter() - started, server.rss_bytes()


def main(runs: int) -> None:
    starts = [first_start_and_restart() for _ in range(runs)]
    hello = [measure_hello() for _ in range(runs)]
    first = statistics.median(t for (t, _), _ in starts), statistics.median(r for (_, r), _ in starts)
    restart = statistics.median(t for _, (t, _) in starts), statistics.median(r for _, (_, r) in starts)
    h_time, h_rss = statistics.median(t for t, _ in hello), statistics.median(r for _, r in hello)
    print_table(
        f"Cold start to ready, median of {runs} (SQLite)",
        ["server", "seconds to ready", "RSS MiB", "time ratio", "RSS ratio"],
        [
            ["bare Quart hello", h_time, h_rss / 2**20, 1.0, 1.0],
            [
                "vetrai serve, every plugin, first start (migrating)",
                first[0],
                first[1] / 2**20,
                first[0] / h_time,
                first[1] / h_rss,
            ],
            [
                "vetrai serve, every plugin, restart",
                restart[0],
                restart[1] / 2**20,
                restart[0] / h_time,
                restart[1] / h_rss,
            ],
        ],
    )
    targets = print_targets(
        [
            Check("start-up to ready, every plugin", restart[0], 1.5, higher_is_better=False, unit=" s"),
            Check("resident memory, every plugin", restart[1] / 2**20, 150, higher_is_better=False, unit=" MiB"),
        ]
    )
    path = write_results(
        "startup",
        {
            "runs": runs,
            "first_start": {"seconds": first[0], "rss_bytes": first[1]},
            "vetrai": {"seconds": restart[0], "rss_bytes": restart[1]},
            "hello": {"seconds": h_time, "rss_bytes": h_rss},
            "targets": targets,
        },
    )
    print(f"\nwritten to {path}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    main(parser.parse_args().runs)
