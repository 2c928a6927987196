"""What every benchmark shares: real server processes, wrk as the load generator, results.

Servers run as separate processes started exactly as a deployment starts them (`vetrai
serve`, or hypercorn with the same settings for the bare Quart baseline), and the load comes
from wrk in another process, so the numbers include HTTP parsing, the ASGI server and the
database, and the load generator never shares the server's event loop.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from vetrai.core.plugins import builtin_plugin_names

HERE = Path(__file__).resolve().parent
RESULTS_DIR = HERE / "results"
PG_ADMIN_URL = os.environ.get("VETRAI_BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("VETRAI_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
PASSWORD = "correct horse battery staple"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def machine() -> dict[str, Any]:
    return {"python": platform.python_version(), "cpus": os.cpu_count(), "system": platform.platform()}


@dataclass
class Server:
    """A running server process and how to reach it."""

    process: subprocess.Popen[bytes]
    base_url: str
    data_dir: Path
    env: dict[str, str] = field(default_factory=dict)

    def rss_bytes(self) -> int:
        """Resident memory of the server and its worker processes, from /proc."""
        return self.rss_of(self.process.pid)

    @staticmethod
    def rss_of(root_pid: int) -> int:
        total = 0
        for pid in [root_pid, *_children(root_pid)]:
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.M)
            total += int(match.group(1)) * 1024 if match else 0
        return total


def _children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return found
    for child in map(int, children):
        found += [child, *_children(child)]
    return found


def wait_ready(base_url: str, path: str = "/health", timeout: float = 90.0) -> float:
    """Seconds until ``path`` answers 200."""
    started = time.perf_counter()
    with httpx.Client(base_url=base_url, timeout=5) as client:
        while time.perf_counter() - started < timeout:
            try:
                if client.get(path).status_code == 200:
                    return time.perf_counter() - started
            except httpx.TransportError:
                pass
            time.sleep(0.05)
    raise RuntimeError(f"{base_url}{path} did not become ready in {timeout:.0f}s")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _vetrai_env(
    data_dir: Path, port: int, backend: Backend, plugins: str | None, extra: dict[str, str]
) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("VETRAI_")}
    env.update(
        VETRAI_DATA_DIR=str(data_dir),
        VETRAI_LOG_LEVEL="WARNING",
        VETRAI_HOST="127.0.0.1",
        VETRAI_PORT=str(port),
        VETRAI_PUBLIC_URL=f"http://127.0.0.1:{port}",
        VETRAI_AUTO_MIGRATE="true",
        # Benchmarks measure throughput, not the brute-force defences.
        VETRAI_AUTH_LOGIN_RATE_LIMIT_PER_IP="100000000",
        VETRAI_AUTH_REGISTER_RATE_LIMIT_PER_IP="100000000",
        # A key may not ask for more than the server default (the plan ceiling): lift the default.
        VETRAI_KEYS_DEFAULT_RATE_LIMIT_REQUESTS="1000000000",
        VETRAI_AUTH_LOCKOUT_IP_FAILURES="100000000",
        **backend.env,
    )
    env.update(extra)  # a benchmark's own settings win over the defaults above
    # Installed examples (examples/*) are not what a benchmark measures.
    env["VETRAI_PLUGINS"] = plugins or ",".join(builtin_plugin_names())
    return env


@contextmanager
def vetrai_server(
    backend: Backend, *, workers: int = 1, plugins: str | None = None, data_dir: Path | None = None, **extra: str
) -> Iterator[Server]:
    """`vetrai serve` on ``backend`` in ``data_dir`` (default: a temporary one); ``plugins``
    default: the built-ins."""
    with tempfile.TemporaryDirectory(prefix="vetrai-bench-") as tmp:
        data_dir = data_dir or Path(tmp)
        port = free_port()
        env = _vetrai_env(data_dir, port, backend, plugins, extra)
        vetrai = str(Path(sys.executable).with_name("vetrai"))
        if workers > 1:
            # Migrate once up front, so worker processes do not race to create tables.
            subprocess.run([vetrai, "migrate"], env=env, check=True, capture_output=True)
        log = open(data_dir / "server.log", "wb")
        process = subprocess.Popen(
            [vetrai, "serve", "--port", str(port), "--workers", str(workers)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            yield Server(process, f"http://127.0.0.1:{port}", data_dir, env)
        finally:
            _stop(process)
            log.close()


@contextmanager
def vetrai_worker(
    server: Server, *, processes: int = 1, concurrency: int | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """`vetrai worker` against the same database and queue as ``server`` (Redis broker only)."""
    env = dict(server.env)
    if concurrency is not None:
        env["VETRAI_WORKER_CONCURRENCY"] = str(concurrency)
    vetrai = str(Path(sys.executable).with_name("vetrai"))
    log = open(server.data_dir / f"worker-{uuid.uuid4().hex[:6]}.log", "wb")
    process = subprocess.Popen(
        [vetrai, "worker", "--processes", str(processes)], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        yield process
    finally:
        _stop(process)
        log.close()


def superuser_token(server: Server) -> str:
    """A super_admin made with `vetrai createsuperuser`, logged in."""
    email = f"root-{uuid.uuid4().hex[:6]}@example.com"
    vetrai = str(Path(sys.executable).with_name("vetrai"))
    subprocess.run(
        [vetrai, "createsuperuser", "--email", email, "--password", PASSWORD],
        env=server.env,
        check=True,
        capture_output=True,
    )
    return login(server.base_url, email=email)


@contextmanager
def hello_server(*, workers: int = 1) -> Iterator[Server]:
    """The baseline: a bare Quart app on hypercorn with the same server settings."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, str(HERE / "hello_app.py"), "--port", str(port), "--workers", str(workers)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_ready(f"http://127.0.0.1:{port}", "/")
        yield Server(process, f"http://127.0.0.1:{port}", HERE)
    finally:
        _stop(process)


@dataclass
class Backend:
    name: str
    env: dict[str, str]
    drop: str | None = None


def _pg(sql: str) -> None:
    import asyncpg

    async def run() -> None:
        connection = await asyncpg.connect(PG_ADMIN_URL.replace("postgres://", "postgresql://"))
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    asyncio.run(run())


@contextmanager
def backend(name: str) -> Iterator[Backend]:
    """``sqlite`` (embedded defaults) or ``postgres`` (a fresh database plus Redis)."""
    if name == "sqlite":
        yield Backend("sqlite", {})
        return
    database = f"vetrai_bench_{uuid.uuid4().hex[:8]}"
    _pg(f'CREATE DATABASE "{database}"')
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + database
    queue = f"vetrai-bench-{uuid.uuid4().hex[:8]}"
    try:
        yield Backend(
            "postgres",
            {
                "VETRAI_DATABASE_URL": url,
                "VETRAI_BROKER_URL": REDIS_URL,
                "VETRAI_BROKER_QUEUE": queue,
                "VETRAI_REDIS_PREFIX": f"{queue}:",
            },
        )
    finally:
        _pg(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def postgres_available() -> bool:
    try:
        _pg("SELECT 1")
        return True
    except OSError:
        return False


@dataclass
class LoadResult:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int

    def as_dict(self) -> dict[str, float]:
        return {
            "rps": self.rps,
            "p50_ms": self.p50_ms,
            "p99_ms": self.p99_ms,
            "requests": self.requests,
            "errors": self.errors,
        }


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if not match:
        raise ValueError(f"unexpected wrk latency {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def wrk(
    url: str,
    *,
    seconds: float,
    connections: int = 64,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    body: Any = None,
) -> LoadResult:
    """Closed-loop load from wrk (one thread, ``connections`` keep-alive connections)."""
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: `apt-get install wrk` (make bench does it)")
    lines = [f'wrk.method = "{method}"']
    for name, value in (headers or {}).items():
        lines.append(f"wrk.headers[{json.dumps(name)}] = {json.dumps(value)}")
    if body is not None:
        lines.append('wrk.headers["Content-Type"] = "application/json"')
        lines.append(f"wrk.body = {json.dumps(json.dumps(body))}")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write("\n".join(lines) + "\n")
    try:
        output = subprocess.run(
            [
                "wrk",
                "-t1",
                f"-c{connections}",
                f"-d{max(1, round(seconds))}s",
                "--latency",
                "--timeout",
                "10s",
                "-s",
                script.name,
                url,
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    finally:
        os.unlink(script.name)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", output, re.M).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", output, re.M).group(1))  # type: ignore[union-attr]
    requests = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    errors = int(non_2xx.group(1)) if non_2xx else 0
    if socket_errors:
        errors += sum(int(value) for value in socket_errors.groups())
    return LoadResult(rps, p50, p99, requests, errors)


def register(base_url: str, email: str = "bench@example.com", organization: str = "Bench") -> dict[str, Any]:
    """A fresh organization admin; returns the registration response (user and tokens)."""
    response = httpx.post(
        f"{base_url}/api/v1/register",
        json={
            "email": email,
            "password": PASSWORD,
            "first_name": "Bench",
            "last_name": "Mark",
            "organization_name": organization,
        },
        timeout=30,
    )
    response.raise_for_status()
    return response.json()


def login(base_url: str, email: str = "bench@example.com", token_format: str = "jwt") -> str:
    response = httpx.post(
        f"{base_url}/api/v1/login",
        json={"email": email, "password": PASSWORD, "token_format": token_format},
        timeout=30,
    )
    response.raise_for_status()
    return response.json()["access_token"]


def print_table(title: str, columns: list[str], rows: list[list[Any]]) -> None:
    cells = [[_cell(value) for value in row] for row in rows]
    widths = [max(len(column), *(len(row[i]) for row in cells)) for i, column in enumerate(columns)]
    print(f"\n{title}")
    print("  ".join(column.ljust(width) for column, width in zip(columns, widths, strict=True)))
    for row in cells:
        print("  ".join(value.ljust(width) for value, width in zip(row, widths, strict=True)))


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.2f}" if value < 100 else f"{value:.0f}"
    return str(value)


def write_results(name: str, report: dict[str, Any]) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    path.write_text(json.dumps({"benchmark": name, "machine": machine(), **report}, indent=2) + "\n")
    return path


@dataclass
class Check:
    """One target of the performance issue, measured: ``value`` against ``limit``."""

    target: str
    value: float
    limit: float
    higher_is_better: bool = True
    unit: str = "x"

    @property
    def met(self) -> bool:
        return self.value >= self.limit if self.higher_is_better else self.value <= self.limit

    def as_dict(self) -> dict[str, Any]:
        return {"target": self.target, "value": self.value, "limit": self.limit, "unit": self.unit, "met": self.met}


def print_targets(checks: list[Check]) -> list[dict[str, Any]]:
    """The issue's targets with what this run measured (ratios to the same run's baselines)."""
    print_table(
        "Targets",
        ["target", "measured", "limit", "met"],
        [
            [
                check.target,
                f"{check.value:.2f}{check.unit}",
                f"{'>=' if check.higher_is_better else '<='} {check.limit:g}{check.unit}",
                "yes" if check.met else "NO",
            ]
            for check in checks
        ],
    )
    return [check.as_dict() for check in checks]
