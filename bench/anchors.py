"""VetrAI against two anchors on the same graphs, with the same client, in one run.

The anchors are LangGraph's dev server (``langgraph-cli[inmem]``, in-memory) and Aegra
(``aegra-cli``, on a PostgreSQL database this script creates), each installed into its own
virtual environment under bench/.anchors and serving bench/anchor_graphs/langgraph.json (a
one-node ``echo`` and a ``sleep`` graph). All of them are driven by the same code on
``langgraph-sdk``; VetrAI through its LangGraph-compatible API at ``/api/v1/langgraph`` with
an API key, or, while that route answers 404, through the jobs API (``POST
/api/v1/workers/jobs``, completion read from the jobs list) with its built-in ``echo`` and
``sleep`` templates. Three measurements per system:

- echo submit -> done, p50 of ``--runs`` sequential runs (and the in-process floor:
  ``ainvoke`` of VetrAI's echo graph with a SQLite checkpointer in this process);
- echo runs/s: ``--jobs`` runs, ``--in-flight`` at a time;
- wall time of ``--concurrent`` sleep(1) runs submitted at once (limits raised).

Writes bench/results/anchors.json; ``bench/readme_tables.py`` puts the table in the README.

    .venv/bin/python bench/anchors.py [--runs 30] [--jobs 500] [--in-flight 32] [--concurrent 500]
        [--systems langgraph aegra vetrai-sqlite vetrai-postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from harness import (
    PG_ADMIN_URL,
    Server,
    _pg,
    backend,
    free_port,
    postgres_available,
    print_table,
    register,
    superuser_token,
    vetrai_server,
    vetrai_worker,
    wait_ready,
    write_results,
)

HERE = Path(__file__).resolve().parent
ANCHORS = HERE / ".anchors"
GRAPHS = HERE / "anchor_graphs"
GRAPHS_CONFIG = str(GRAPHS / "langgraph.json")  # VetrAI serves the anchors' own graphs too
TERMINAL = {"succeeded", "failed", "cancelled", "timed_out", "interrupted"}
UNLIMITED = {"max_concurrent_jobs": 1_000_000, "max_monthly_jobs": 1_000_000_000}
ANCHOR_PACKAGES = {"langgraph": ["langgraph-cli[inmem]"], "aegra": ["aegra-cli"]}


def anchor_python() -> str:
    """The newest Python 3.12+ on this machine (Aegra needs 3.12 for its current releases).
    A pyenv shim is on PATH even when its version is not selected, so each candidate must run."""
    candidates = [shutil.which(name) for name in ("python3.13", "python3.12")]
    candidates += [
        str(root / "bin" / "python") for root in sorted(Path.home().glob(".pyenv/versions/3.1[23]*"), reverse=True)
    ]
    for candidate in candidates:
        if candidate and subprocess.run([candidate, "--version"], capture_output=True).returncode == 0:
            return candidate
    return sys.executable


def ensure_venv(name: str) -> Path:
    """bench/.anchors/<name>, created and installed once (a marker records the packages)."""
    venv = ANCHORS / name
    marker = venv / ".installed"
    packages = ANCHOR_PACKAGES[name]
    if marker.exists() and marker.read_text() == " ".join(packages):
        return venv
    ANCHORS.mkdir(parents=True, exist_ok=True)
    if not (venv / "bin" / "python").exists():
        subprocess.run([anchor_python(), "-m", "venv", str(venv)], check=True)
    print(f"installing {' '.join(packages)} into {venv} ...", flush=True)
    subprocess.run([str(venv / "bin" / "pip"), "install", "--quiet", *packages], check=True)
    marker.write_text(" ".join(packages))
    return venv


def _version(venv: Path, distribution: str) -> str:
    result = subprocess.run(
        [str(venv / "bin" / "python"), "-c", f"import importlib.metadata as m; print(m.version({distribution!r}))"],
        capture_output=True,
        text=True,
    )
    return result.stdout.strip() or "?"


@dataclass
class Target:
    """One system under test: how the shared driver reaches it."""

    name: str
    url: str
    headers: dict[str, str]
    jobs_api: bool = False
    token: str = ""


@contextlib.contextmanager
def _process(command: list[str], env: dict[str, str], log_name: str, cwd: Path) -> Iterator[subprocess.Popen[bytes]]:
    ANCHORS.mkdir(parents=True, exist_ok=True)
    log = open(ANCHORS / log_name, "wb")
    # A session of its own: `aegra serve` runs uvicorn as a child, which must stop with it.
    process = subprocess.Popen(command, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield process
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pass
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        log.close()


@contextlib.contextmanager
def langgraph_dev(concurrent: int) -> Iterator[Target]:
    venv = ensure_venv("langgraph")
    port = free_port()
    env = {**os.environ, "N_JOBS_PER_WORKER": str(concurrent + 10), "LANGSMITH_TRACING": "false"}
    command = [
        str(venv / "bin" / "langgraph"),
        "dev",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--no-browser",
        "--no-reload",
        "--config",
        str(GRAPHS / "langgraph.json"),
        "--n-jobs-per-worker",
        str(concurrent + 10),
    ]
    with _process(command, env, "langgraph-dev.log", GRAPHS):
        url = f"http://127.0.0.1:{port}"
        wait_ready(url, "/ok", timeout=180)
        yield Target(f"LangGraph dev server {_version(venv, 'langgraph-api')} (in-memory)", url, {})


@contextlib.contextmanager
def aegra(concurrent: int) -> Iterator[Target]:
    venv = ensure_venv("aegra")
    database = f"vetrai_bench_aegra_{uuid.uuid4().hex[:8]}"
    _pg(f'CREATE DATABASE "{database}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    user_host = base.split("://", 1)[1]
    user, _, host_port = user_host.rpartition("@")
    host, _, pg_port = host_port.partition(":")
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"postgresql+asyncpg://{user_host}/{database}",
        "POSTGRES_USER": user.split(":")[0] or "postgres",
        "POSTGRES_PASSWORD": user.partition(":")[2],
        "POSTGRES_HOST": host or "127.0.0.1",
        "POSTGRES_PORT": pg_port or "5432",
        "POSTGRES_DB": database,
        "AUTH_TYPE": "noop",
        "AEGRA_CONFIG": str(GRAPHS / "langgraph.json"),
        "N_JOBS_PER_WORKER": str(concurrent + 10),
        "LANGSMITH_TRACING": "false",
    }
    command = [
        str(venv / "bin" / "aegra"),
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--config",
        str(GRAPHS / "langgraph.json"),
    ]
    try:
        with _process(command, env, "aegra.log", GRAPHS):
            url = f"http://127.0.0.1:{port}"
            wait_ready(url, "/health", timeout=180)
            yield Target(f"Aegra {_version(venv, 'aegra-api')} (PostgreSQL)", url, {})
    finally:
        _pg(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def _lift_limits(server: Server, organization_id: str) -> None:
    token = superuser_token(server)
    response = httpx.put(
        f"{server.base_url}/api/v1/organizations/{organization_id}",
        json={"limits": UNLIMITED},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    response.raise_for_status()


def _vetrai_target(server: Server, label: str) -> Target:
    wait_ready(server.base_url)
    registered = register(server.base_url)
    _lift_limits(server, registered["user"]["organization_id"])
    token = registered["access_token"]
    created = httpx.post(
        f"{server.base_url}/api/v1/keys",
        json={
            "name": "anchors",
            "scopes": ["workers:read", "workers:write"],
            "rate_limit": {"requests": 1_000_000, "window_seconds": 1},
        },
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    created.raise_for_status()
    key = created.json()["key"]
    langgraph_url = f"{server.base_url}/api/v1/langgraph"
    probe = httpx.get(f"{langgraph_url}/info", headers={"x-api-key": key}, timeout=30)
    if probe.status_code == 404:
        return Target(f"{label}, jobs API", server.base_url, {"x-api-key": key}, jobs_api=True, token=key)
    return Target(f"{label}, /api/v1/langgraph", langgraph_url, {"x-api-key": key}, token=key)


@contextlib.contextmanager
def vetrai_sqlite(concurrent: int) -> Iterator[Target]:
    with (
        backend("sqlite") as backend_,
        vetrai_server(
            backend_, VETRAI_WORKER_CONCURRENCY=str(concurrent + 50), VETRAI_LANGGRAPH_CONFIG=GRAPHS_CONFIG
        ) as server,
    ):
        yield _vetrai_target(server, "VetrAI, embedded SQLite")


@contextlib.contextmanager
def vetrai_postgres(concurrent: int) -> Iterator[Target]:
    with backend("postgres") as backend_, vetrai_server(backend_, VETRAI_LANGGRAPH_CONFIG=GRAPHS_CONFIG) as server:
        target = _vetrai_target(server, "VetrAI, PostgreSQL + Redis + one worker")
        with vetrai_worker(server, processes=1, concurrency=concurrent + 50):
            yield target


# --- the shared driver --------------------------------------------------------------------


# Requests the client has open at once while runs are submitted or awaited all together: the
# runs themselves all run at once, but a server's connection pool (Aegra's SQLAlchemy pool is
# 30) should not decide the result by timing out requests that merely queue.
MAX_OPEN_REQUESTS = 64


async def _limited(semaphore: asyncio.Semaphore, awaitable: Awaitable[Any]) -> Any:
    async with semaphore:
        return await awaitable


class SdkDriver:
    """langgraph-sdk against any LangGraph Server API: a run on a fresh thread, joined."""

    def __init__(self, target: Target) -> None:
        from langgraph_sdk.client import LangGraphClient

        self.open = asyncio.Semaphore(MAX_OPEN_REQUESTS)
        # The SDK's own client allows 100 connections; 500 runs joined at once need more.
        self.client = LangGraphClient(
            httpx.AsyncClient(
                base_url=target.url,
                headers=target.headers,
                timeout=600,
                # Idle connections are dropped before uvicorn's 5 s keep-alive closes them.
                limits=httpx.Limits(max_connections=2000, max_keepalive_connections=2000, keepalive_expiry=1.0),
            )
        )

    async def prepare(self) -> str:
        return (await self.client.threads.create())["thread_id"]

    async def start(self, thread_id: str, graph: str, payload: dict[str, Any]) -> str:
        return (await self.client.runs.create(thread_id, graph, input=payload))["run_id"]

    async def finish(self, thread_id: str, run_id: str) -> None:
        await self.client.runs.join(thread_id, run_id)
        finished = await self.client.runs.get(thread_id, run_id)
        if finished["status"] != "success":
            raise RuntimeError(f"run {run_id} ended {finished['status']}")

    async def run(self, graph: str, payload: dict[str, Any]) -> float:
        thread_id = await self.prepare()
        started = time.perf_counter()
        await self.finish(thread_id, await self.start(thread_id, graph, payload))
        return time.perf_counter() - started

    async def all_at_once(self, graph: str, payloads: list[dict[str, Any]]) -> float:
        """Wall time from the first submission to the last completion (threads made before)."""
        threads = await asyncio.gather(*(_limited(self.open, self.prepare()) for _ in payloads))
        started = time.perf_counter()
        runs = await asyncio.gather(
            *(
                _limited(self.open, self.start(thread, graph, payload))
                for thread, payload in zip(threads, payloads, strict=True)
            )
        )
        await asyncio.gather(
            *(_limited(self.open, self.finish(thread, run)) for thread, run in zip(threads, runs, strict=True))
        )
        return time.perf_counter() - started

    async def close(self) -> None:
        await self.client.http.client.aclose()


class JobsDriver:
    """VetrAI's jobs API until /api/v1/langgraph exists: completion from the jobs list."""

    def __init__(self, target: Target, poll: float = 0.005) -> None:
        self.client = httpx.AsyncClient(
            base_url=target.url,
            headers=target.headers,
            timeout=600,
            limits=httpx.Limits(max_connections=2000, max_keepalive_connections=2000, keepalive_expiry=1.0),
        )
        self.poll = poll
        self.open = asyncio.Semaphore(MAX_OPEN_REQUESTS)
        self.done: dict[str, asyncio.Future[str]] = {}
        self.watcher: asyncio.Task[None] | None = None

    async def _watch(self) -> None:
        """One poller for every run in flight, however many there are."""
        while True:
            if self.done:
                cursor = None
                while True:
                    params: dict[str, Any] = {"limit": 200}
                    if cursor:
                        params["cursor"] = cursor
                    page = (await self.client.get("/api/v1/workers/jobs", params=params)).json()
                    for item in page["items"]:
                        future = self.done.get(item["id"])
                        if future is not None and item["status"] in TERMINAL and not future.done():
                            future.set_result(item["status"])
                    cursor = page.get("next_cursor")
                    if not cursor or not any(not future.done() for future in self.done.values()):
                        break
            await asyncio.sleep(self.poll)

    async def submit(self, graph: str, payload: dict[str, Any]) -> str:
        if self.watcher is None:
            self.watcher = asyncio.create_task(self._watch())
        template_input = payload if graph == "echo" else {"seconds": payload["seconds"], "steps": 1}
        response = await self.client.post("/api/v1/workers/jobs", json={"template": graph, "input": template_input})
        response.raise_for_status()
        job_id = response.json()["id"]
        self.done[job_id] = asyncio.get_running_loop().create_future()
        return job_id

    async def wait(self, job_id: str) -> None:
        status = await self.done[job_id]
        del self.done[job_id]
        if status != "succeeded":
            raise RuntimeError(f"job {job_id} ended {status}")

    async def run(self, graph: str, payload: dict[str, Any]) -> float:
        started = time.perf_counter()
        await self.wait(await self.submit(graph, payload))
        return time.perf_counter() - started

    async def all_at_once(self, graph: str, payloads: list[dict[str, Any]]) -> float:
        started = time.perf_counter()
        ids = await asyncio.gather(*(_limited(self.open, self.submit(graph, payload)) for payload in payloads))
        await asyncio.gather(*(self.wait(job_id) for job_id in ids))
        return time.perf_counter() - started

    async def close(self) -> None:
        if self.watcher is not None:
            self.watcher.cancel()
            await asyncio.gather(self.watcher, return_exceptions=True)
        await self.client.aclose()


async def measure(target: Target, runs: int, jobs: int, in_flight: int, concurrent: int) -> dict[str, Any]:
    driver: SdkDriver | JobsDriver = JobsDriver(target) if target.jobs_api else SdkDriver(target)
    try:
        for index in range(3):  # warm-up: first runs load graphs and connections
            await driver.run("echo", {"message": f"warm-{index}"})
        latencies = [await driver.run("echo", {"message": index}) for index in range(runs)]
        semaphore = asyncio.Semaphore(in_flight)

        async def bounded(index: int) -> float:
            async with semaphore:
                return await driver.run("echo", {"message": index})

        started = time.perf_counter()
        await asyncio.gather(*(bounded(index) for index in range(jobs)))
        rate = jobs / (time.perf_counter() - started)
        if isinstance(driver, JobsDriver):
            driver.poll = 0.05
        sleep_wall = await driver.all_at_once("sleep", [{"seconds": 1}] * concurrent)
    finally:
        await driver.close()
    return {
        "system": target.name,
        "echo_p50_ms": statistics.median(latencies) * 1000,
        "echo_runs_per_second": rate,
        "sleep_wall_seconds": sleep_wall,
    }


async def in_process_floor(runs: int, jobs: int, in_flight: int) -> dict[str, Any]:
    """``ainvoke`` of VetrAI's echo graph with an AsyncSqliteSaver in this process."""
    import tempfile

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

        async def one(index: int) -> float:
            started = time.perf_counter()
            await graph.ainvoke(spec.to_state({"index": index}), {"configurable": {"thread_id": str(uuid.uuid4())}})
            return time.perf_counter() - started

        latencies = [await one(index) for index in range(runs)]
        semaphore = asyncio.Semaphore(in_flight)

        async def bounded(index: int) -> float:
            async with semaphore:
                return await one(index)

        started = time.perf_counter()
        await asyncio.gather(*(bounded(index) for index in range(jobs)))
        rate = jobs / (time.perf_counter() - started)
        await connection.close()
    return {
        "system": "in-process ainvoke + AsyncSqliteSaver (the floor)",
        "echo_p50_ms": statistics.median(latencies) * 1000,
        "echo_runs_per_second": rate,
        "sleep_wall_seconds": None,
    }


SYSTEMS: dict[str, Callable[[int], contextlib.AbstractContextManager[Target]]] = {
    "langgraph": langgraph_dev,
    "aegra": aegra,
    "vetrai-sqlite": vetrai_sqlite,
    "vetrai-postgres": vetrai_postgres,
}


def run_system(name: str, args: argparse.Namespace) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        with SYSTEMS[name](args.concurrent) as target:
            print(f"measuring {target.name} ...", flush=True)
            row = asyncio.run(measure(target, args.runs, args.jobs, args.in_flight, args.concurrent))
    except Exception as exc:  # one broken anchor must not hide the others' numbers
        print(f"{name}: failed: {exc!r} (logs in {ANCHORS})", flush=True)
        row = {"system": name, "error": repr(exc)}
    row["key"] = name
    row["seconds"] = time.perf_counter() - started
    return row


def _ratio(value: float | None, anchor: float | None, higher_is_better: bool) -> str:
    if not value or not anchor:
        return ""
    return f"{value / anchor:.2f}" if higher_is_better else f"{anchor / value:.2f}"


def _merged(measured: list[dict[str, Any]], args: argparse.Namespace) -> list[dict[str, Any]]:
    """The previous results with the systems measured now replaced (same settings only)."""
    path = HERE / "results" / "anchors.json"
    if not path.exists():
        return measured
    previous = json.loads(path.read_text())
    if any(previous.get(name) != getattr(args, name) for name in ("runs", "jobs", "in_flight", "concurrent")):
        raise SystemExit("--update needs the same --runs/--jobs/--in-flight/--concurrent as the previous results")
    fresh = {row["key"]: row for row in measured[1:]}
    rows = measured[:1]  # the in-process floor, measured now
    for row in previous["rows"]:
        if "key" in row:
            rows.append(fresh.pop(row["key"], row))
    return rows + list(fresh.values())


def main(args: argparse.Namespace) -> None:
    systems = list(args.systems)
    if not postgres_available():
        print("PostgreSQL is not reachable on 127.0.0.1:5432: Aegra and VetrAI on Postgres are left out")
        systems = [name for name in systems if name not in ("aegra", "vetrai-postgres")]
    measured = [asyncio.run(in_process_floor(args.runs, args.jobs, args.in_flight))]
    measured += [run_system(name, args) for name in systems]
    rows = _merged(measured, args) if args.update else measured
    anchor = next((row for row in rows if row.get("key") == "langgraph" and "error" not in row), None)
    table = []
    for row in rows:
        if "error" in row:
            table.append([row["system"], "error", "", "", "", ""])
            continue
        table.append(
            [
                row["system"],
                row["echo_p50_ms"],
                row["echo_runs_per_second"],
                "" if row["sleep_wall_seconds"] is None else row["sleep_wall_seconds"],
                _ratio(row["echo_runs_per_second"], anchor and anchor["echo_runs_per_second"], True),
                _ratio(row["sleep_wall_seconds"], anchor and anchor["sleep_wall_seconds"], False),
            ]
        )
    print_table(
        f"Same graphs, same client; ratios over the LangGraph dev server (higher is better); "
        f"{args.jobs} echo runs {args.in_flight} in flight, {args.concurrent} sleep(1) runs at once",
        ["system", "echo p50 ms", "echo runs/s", f"{args.concurrent} x sleep(1) s", "runs/s ratio", "sleep ratio"],
        table,
    )
    targets = [
        ("echo runs/s >= 2x the LangGraph dev server", "echo_runs_per_second", 2.0),
        ("500 concurrent sleep(1) within 3 s", "sleep_wall_seconds", 3.0),
    ]
    for row in rows:
        if row.get("key", "").startswith("vetrai") and "error" not in row and anchor:
            ratio = row["echo_runs_per_second"] / anchor["echo_runs_per_second"]
            print(f"target, {row['system']}: {targets[0][0]}: {ratio:.2f}x -> {'met' if ratio >= 2 else 'not met'}")
            wall = row["sleep_wall_seconds"]
            print(f"target, {row['system']}: {targets[1][0]}: {wall:.1f} s -> {'met' if wall <= 3 else 'not met'}")
    path = write_results(
        "anchors",
        {
            "runs": args.runs,
            "jobs": args.jobs,
            "in_flight": args.in_flight,
            "concurrent": args.concurrent,
            "rows": rows,
        },
    )
    print(f"\nwritten to {path}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--jobs", type=int, default=500)
    parser.add_argument("--in-flight", type=int, default=32)
    parser.add_argument("--concurrent", type=int, default=500)
    parser.add_argument("--systems", nargs="+", default=list(SYSTEMS), choices=list(SYSTEMS))
    parser.add_argument(
        "--update", action="store_true", help="keep the previous results of the systems not measured now"
    )
    main(parser.parse_args())
