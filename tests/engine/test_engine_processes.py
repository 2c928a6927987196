"""Real `vetrai worker` processes on Postgres + Redis (postgres backend run only): jobs run in
another process, cancel reaches it, SIGKILL loses nothing (the reaper of the surviving worker
re-queues the run), SIGTERM drains."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from vetrai.core.conformance import subprocess_env
from vetrai.engine.dispatch import send_run
from vetrai.engine.models import Job

VETRAI = str(Path(sys.executable).with_name("vetrai"))
pytestmark = pytest.mark.no_worker


def worker_env(settings) -> dict[str, str]:
    return subprocess_env(
        settings,
        VETRAI_PLUGINS="auth,workers",
        # A lease a loaded CI machine cannot outlast by accident, short enough to expire fast.
        VETRAI_WORKERS_HEARTBEAT_SECONDS="0.3",
        VETRAI_WORKERS_LEASE_SECONDS="3",
        VETRAI_WORKERS_REAPER_SECONDS="0.5",
        VETRAI_WORKERS_STALE_QUEUED_SECONDS="2",
    )


def signal_group(process: subprocess.Popen, signum: int) -> None:
    """Signal the worker and the process taskiq forks to run tasks."""
    try:
        os.killpg(process.pid, signum)
    except ProcessLookupError:
        pass


@pytest.fixture
def start_worker(app, settings, tmp_path):
    processes: list[subprocess.Popen] = []

    def start() -> subprocess.Popen:
        log = open(tmp_path / f"worker{len(processes)}.log", "wb")
        process = subprocess.Popen(
            [VETRAI, "worker", "--concurrency", "20"],
            env=worker_env(settings),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        processes.append(process)
        return process

    yield start
    for process in processes:
        if process.poll() is None:
            signal_group(process, signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            signal_group(process, signal.SIGKILL)
            process.wait()


async def test_jobs_run_and_cancel_across_processes(make_user, jobs, start_worker):
    start_worker()
    actor = await make_user()
    echo = await jobs.create(actor, "echo", {"from": "another process"})
    assert (await jobs.wait(actor, echo["id"], "succeeded", within=30))["output"] == {"from": "another process"}
    example = await jobs.create(actor, "word_count", {"text": "a b a"})
    assert (await jobs.wait(actor, example["id"], "succeeded"))["output"]["words"] == 3
    sleeper = await jobs.create(actor, "sleep", {"seconds": 60, "steps": 600})
    await jobs.wait(actor, sleeper["id"], "running")
    await jobs.action(actor, sleeper["id"], "cancel")
    await jobs.wait(actor, sleeper["id"], "cancelled", within=5)  # of a 60 s run in another process
    approval = await jobs.create(actor, "approval", {"request": "deploy?"})
    await jobs.wait(actor, approval["id"], "interrupted")
    await jobs.action(actor, approval["id"], "resume", {"value": {"approved": False}})
    assert (await jobs.wait(actor, approval["id"], "succeeded"))["output"] == {"approved": False, "comment": None}


async def test_killed_worker_loses_nothing_and_sigterm_drains(platform, make_user, jobs, start_worker):
    workers = {process.pid: process for process in (start_worker(), start_worker())}
    actor = await make_user()
    warm = await jobs.create(actor, "echo", {})
    await jobs.wait(actor, warm["id"], "succeeded", within=30)

    # Duplicate deliveries to two workers: the job runs exactly once.
    twice = await jobs.create(actor, "sleep", {"seconds": 0.3, "steps": 1})
    for _ in range(3):
        await send_run(platform, twice["id"])
    done = await jobs.wait(actor, twice["id"], "succeeded")
    await asyncio.sleep(0.3)
    statuses = [event["data"]["status"] for event in await jobs.events(actor, twice["id"]) if event["type"] == "status"]
    assert statuses == ["queued", "running", "succeeded"] and done["attempts"] == 1
    job = await jobs.create(actor, "sleep", {"seconds": 2, "steps": 4})
    await jobs.wait(actor, job["id"], "running")
    for _ in range(200):  # a slice is done (and checkpointed)
        if any(event["type"] == "progress" for event in await jobs.events(actor, job["id"])):
            break
        await asyncio.sleep(0.02)
    holder = workers.pop(await worker_of(job["id"]))
    signal_group(holder, signal.SIGKILL)
    holder.wait()
    # The other worker's reaper finds the expired lease; the run continues there from the
    # last checkpoint: the slices already done are not slept again.
    done = await jobs.wait(actor, job["id"], "succeeded", within=40)
    history = [(event["type"], event["data"]) for event in await jobs.events(actor, job["id"])]
    assert done["attempts"] == 2 and done["output"] == {"slept_seconds": 2.0, "steps": 4}, history
    steps = [event["data"]["step"] for event in await jobs.events(actor, job["id"]) if event["type"] == "progress"]
    assert sorted(set(steps)) == [1, 2, 3, 4] and steps.count(1) == 1 and len(steps) <= 5

    # SIGTERM drains: the running job is released at once (not waited for) and re-queued.
    (survivor,) = workers.values()
    long = await jobs.create(actor, "sleep", {"seconds": 60, "steps": 60})
    await jobs.wait(actor, long["id"], "running")
    signal_group(survivor, signal.SIGTERM)
    await asyncio.to_thread(survivor.wait, 15)
    released = await jobs.get(actor, long["id"])
    assert released["status"] == "queued" and released["attempts"] == 0, released
    row = await Job.get(id=long["id"])
    assert row.lease_owner is None
    reasons = [
        event["data"].get("reason") for event in await jobs.events(actor, long["id"]) if event["type"] == "status"
    ]
    assert "worker shutdown" in reasons


async def worker_of(job_id: str) -> int:
    """The pid of the `vetrai worker` whose forked process holds the job's lease."""
    owner = (await Job.get(id=job_id)).lease_owner
    return os.getpgid(int(owner.split(":")[1]))
