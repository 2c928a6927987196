"""Cost of API-key authentication against an unauthenticated route of the same server.

Starts `vetrai serve` on SQLite in a temporary directory, registers a user, creates an API
key, then measures requests/s of three GETs with an async load generator running in a
separate process (raw keep-alive sockets by default; ``--client httpx`` uses httpx, which on a
2-core machine saturates its own core before the server's): ``/health`` (no credentials, the baseline), ``/api/v1/keys/scopes`` with
the key, and the same route with the user's JWT. Prints each as a ratio to ``/health`` and
writes bench/results/keys_auth.json. Target: key auth costs at most 30% of throughput
(ratio >= 0.70).

    .venv/bin/python bench/keys_auth.py [--seconds 5] [--concurrency 32]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "keys_auth.json"
TARGET_RATIO = 0.70


class RawConnection:
    """One keep-alive HTTP/1.1 connection with a pre-built request: the cheapest possible client.

    httpx spends about 2 ms of CPU per request, so on a small machine it, not the server, is
    the bottleneck and every ratio comes out near 1.0; this client costs a few microseconds.
    """

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        parsed = httpx.URL(url)
        self.host, self.port = parsed.host, parsed.port or 80
        lines = [f"GET {parsed.raw_path.decode()} HTTP/1.1", f"Host: {self.host}:{self.port}", "Connection: keep-alive"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        self.request = ("\r\n".join(lines) + "\r\n\r\n").encode()
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def get(self) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        self.writer.write(self.request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        if length:
            await self.reader.readexactly(length)
        return status


async def load(url: str, headers: dict[str, str], seconds: float, concurrency: int, client_kind: str = "raw") -> dict[str, float]:
    """Closed-loop load: ``concurrency`` workers request ``url`` back to back for ``seconds``."""
    if client_kind == "raw":
        connections = [RawConnection(url, headers) for _ in range(concurrency)]
        warm_until = time.perf_counter() + 1.0
        while time.perf_counter() < warm_until:
            await asyncio.gather(*(connection.get() for connection in connections))
        done = failed = 0
        stop_at = time.perf_counter() + seconds

        async def raw_worker(connection: RawConnection) -> None:
            nonlocal done, failed
            while time.perf_counter() < stop_at:
                if await connection.get() == 200:
                    done += 1
                else:
                    failed += 1

        started = time.perf_counter()
        await asyncio.gather(*(raw_worker(connection) for connection in connections))
        elapsed = time.perf_counter() - started
        for connection in connections:
            if connection.writer is not None:
                connection.writer.close()
        return {"requests": done, "failed": failed, "seconds": elapsed, "rps": done / elapsed}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=30, headers=headers) as client:
        warm_until = time.perf_counter() + 1.0
        while time.perf_counter() < warm_until:
            await asyncio.gather(*(client.get(url) for _ in range(concurrency)))
        done = 0
        failed = 0
        stop_at = time.perf_counter() + seconds

        async def worker() -> None:
            nonlocal done, failed
            while time.perf_counter() < stop_at:
                response = await client.get(url)
                if response.status_code == 200:
                    done += 1
                else:
                    failed += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return {"requests": done, "failed": failed, "seconds": elapsed, "rps": done / elapsed}


def run_load_process(url: str, headers: dict[str, str], seconds: float, concurrency: int, client_kind: str) -> dict[str, float]:
    """The load generator runs in its own process so it does not share the server's CPU time."""
    output = subprocess.run(
        [
            sys.executable, __file__, "--load", url, "--headers", json.dumps(headers),
            "--seconds", str(seconds), "--concurrency", str(concurrency), "--client", client_kind,
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(output.stdout)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("VETRAI_")}
    env.update(
        VETRAI_DATA_DIR=str(data_dir),
        VETRAI_PLUGINS="auth,keys",
        VETRAI_LOG_LEVEL="WARNING",
        VETRAI_HOST="127.0.0.1",
        VETRAI_PORT=str(port),
        VETRAI_PUBLIC_URL=f"http://127.0.0.1:{port}",
    )
    vetrai = str(Path(sys.executable).with_name("vetrai"))
    log = open(data_dir / "server.log", "wb")  # noqa: SIM115 - closed with the process
    return subprocess.Popen([vetrai, "serve", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT)


def prepare(base: str) -> tuple[str, str]:
    """Register a user, log in, and create a key allowed to read the scopes list."""
    with httpx.Client(base_url=base, timeout=30) as client:
        deadline = time.monotonic() + 60
        while True:
            try:
                if client.get("/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the server did not start")
            time.sleep(0.2)
        email, password = "bench@example.com", "correct horse battery staple"
        client.post("/api/v1/register", json={"email": email, "password": password, "first_name": "Bench", "last_name": "Mark"}).raise_for_status()
        login = client.post("/api/v1/login", json={"email": email, "password": password})
        login.raise_for_status()
        jwt = login.json()["access_token"]
        created = client.post(
            "/api/v1/keys",
            json={"name": "bench", "scopes": ["keys:read"], "rate_limit": {"requests": 1_000_000, "window_seconds": 1}},
            headers={"Authorization": f"Bearer {jwt}"},
        )
        created.raise_for_status()
        return jwt, created.json()["key"]


def main(seconds: float, concurrency: int, client_kind: str) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="vetrai-bench-") as tmp:
        data_dir = Path(tmp)
        port = free_port()
        server = start_server(data_dir, port)
        base = f"http://127.0.0.1:{port}"
        try:
            jwt, key = prepare(base)
            scenarios = {
                "health (no auth)": (f"{base}/health", {}),
                "scopes with API key": (f"{base}/api/v1/keys/scopes", {"Authorization": f"Bearer {key}"}),
                "scopes with JWT": (f"{base}/api/v1/keys/scopes", {"Authorization": f"Bearer {jwt}"}),
            }
            results = {
                name: run_load_process(url, headers, seconds, concurrency, client_kind) for name, (url, headers) in scenarios.items()
            }
        finally:
            server.terminate()
            server.wait(timeout=30)
    baseline = results["health (no auth)"]["rps"]
    rows = {name: {**value, "ratio_to_health": value["rps"] / baseline} for name, value in results.items()}
    key_ratio = rows["scopes with API key"]["ratio_to_health"]
    report = {
        "benchmark": "keys_auth",
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "system": platform.platform()},
        "seconds_per_scenario": seconds,
        "concurrency": concurrency,
        "load_client": client_kind,
        "scenarios": rows,
        "target_ratio": TARGET_RATIO,
        "key_auth_meets_target": key_ratio >= TARGET_RATIO,
    }
    print(f"{'scenario':<24}{'req/s':>10}{'ratio to /health':>20}{'failed':>8}")
    for name, row in rows.items():
        print(f"{name:<24}{row['rps']:>10.0f}{row['ratio_to_health']:>20.2f}{int(row['failed']):>8}")
    verdict = "meets" if report["key_auth_meets_target"] else "MISSES"
    print(f"API-key auth keeps {key_ratio:.0%} of /health throughput: {verdict} the target of >= {TARGET_RATIO:.0%}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    return report


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--client", choices=("raw", "httpx"), default="raw", help="raw keep-alive sockets (default) or httpx")
    parser.add_argument("--load", help=argparse.SUPPRESS)
    parser.add_argument("--headers", default="{}", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load:
        print(json.dumps(asyncio.run(load(args.load, json.loads(args.headers), args.seconds, args.concurrency, args.client))))
    else:
        main(args.seconds, args.concurrency, args.client)
