"""Regenerate the README's benchmark tables from bench/results/*.json.

Each table lives between ``<!-- bench:NAME:start -->`` and ``<!-- bench:NAME:end -->`` in
README.md; a table whose results file is missing is left as it is.

    .venv/bin/python bench/readme_tables.py
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
README = HERE.parent / "README.md"
RESULTS = HERE / "results"


def _number(value: Any, digits: int = 1) -> str:
    if value is None or value == "":
        return ""
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def anchors_table(report: dict[str, Any]) -> str:
    rows = [
        "| system | echo submit -> done p50 (ms) "
        f"| echo runs/s ({report['jobs']} runs, {report['in_flight']} in flight) "
        f"| {report['concurrent']} concurrent sleep(1) runs (s) |",
        "|---|---|---|---|",
    ]
    for row in report["rows"]:
        if "error" in row:
            rows.append(f"| {row['system']} | failed: {row['error'][:80]} | | |")
            continue
        rows.append(
            f"| {row['system']} | {_number(row['echo_p50_ms'])} | {_number(row['echo_runs_per_second'])} "
            f"| {_number(row['sleep_wall_seconds'])} |"
        )
    return "\n".join(rows)


def api_table(report: dict[str, Any]) -> str:
    rows = [
        "| backend | server processes | scenario | req/s | p99 ms | ratio to bare Quart |",
        "|---|---|---|---|---|---|",
    ]
    for row in report["rows"]:
        rows.append(
            f"| {row['backend']} | {row['workers']} | {row['scenario']} | {row['rps']:.0f} | {row['p99_ms']:.0f} "
            f"| {row['ratio']:.2f} |"
        )
    return "\n".join(rows)


def targets_table(report: dict[str, Any]) -> str:
    rows = ["| target | measured | limit | met |", "|---|---|---|---|"]
    for target in report.get("targets", []):
        unit = target.get("unit", "")
        rows.append(
            f"| {target['target']} | {_number(target['value'], 2)}{unit} | {_number(target['limit'], 2)}{unit} "
            f"| {'yes' if target['met'] else 'no'} |"
        )
    return "\n".join(rows)


def startup_table(report: dict[str, Any]) -> str:
    mib = 1024 * 1024
    vetrai, hello = report["vetrai"], report["hello"]
    rows = [
        f"| start-up (median of {report['runs']} cold starts, SQLite) | seconds to ready | RSS MiB |",
        "|---|---|---|",
    ]
    first = report.get("first_start")
    if first:
        rows.append(
            f"| `vetrai serve`, every plugin, first start (migrating) | {first['seconds']:.2f} "
            f"| {first['rss_bytes'] / mib:.0f} |"
        )
    rows += [
        f"| `vetrai serve`, every plugin, restart | {vetrai['seconds']:.2f} | {vetrai['rss_bytes'] / mib:.0f} |",
        f"| bare Quart hello | {hello['seconds']:.2f} | {hello['rss_bytes'] / mib:.0f} |",
    ]
    return "\n".join(rows)


def fairness_table(report: dict[str, Any]) -> str:
    return "\n".join(
        [
            f"| fairness (`bench/fairness.py`): tenant B's one run behind tenant A's {report['backlog']} queued runs, "
            f"{report['slots']} worker slots | seconds |",
            "|---|---|",
            f"| one run (median duration) | {report['run_seconds']:.2f} |",
            f"| tenant B: submitted to started | {report['second_tenant_wait_seconds']:.2f} "
            f"({report['wait_over_one_run']:.2f} of one run) |",
            f"| the same wait in first-in-first-out order | {report['fifo_wait_seconds']:.1f} |",
        ]
    )


def streams_table(report: dict[str, Any]) -> str:
    rows = [
        f"| streams (`bench/streams.py`, {report['backend']}) | open SSE streams | database queries/s "
        f"| API p99 ms (`GET` a job, {report['api_concurrency']} clients) |",
        "|---|---|---|---|",
    ]
    for row in report["rows"]:
        p99 = f"{row['p99_ms']:.1f}" if row["p99_ms"] else "-"
        rows.append(f"| {row['scenario']} | {row['streams']} | {row['queries_per_second']:.1f} | {p99} |")
    return "\n".join(rows)


TABLES: dict[str, tuple[str, Callable[[dict[str, Any]], str]]] = {
    "anchors": ("anchors.json", anchors_table),
    "api": ("api.json", api_table),
    "api-targets": ("api.json", targets_table),
    "startup": ("startup.json", startup_table),
    "fairness": ("fairness.json", fairness_table),
    "streams": ("streams.json", streams_table),
}


def regenerate(readme: str) -> str:
    for name, (filename, render) in TABLES.items():
        start, end = f"<!-- bench:{name}:start -->", f"<!-- bench:{name}:end -->"
        path = RESULTS / filename
        if start not in readme or end not in readme or not path.exists():
            continue
        before, rest = readme.split(start, 1)
        _, after = rest.split(end, 1)
        readme = f"{before}{start}\n{render(json.loads(path.read_text()))}\n{end}{after}"
    return readme


if __name__ == "__main__":
    README.write_text(regenerate(README.read_text()))
    print(f"regenerated the benchmark tables in {README}")
