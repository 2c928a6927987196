"""A real `vetrai worker` process delivers (postgres backend run only: Redis broker).

The server (this process, no in-process worker) queues; the separate worker process claims,
sends the email over SMTP and publishes the in-app notification on Redis, and the server's
SSE stream receives it: the cross-process path of production.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from vetrai.core.conformance import subprocess_env

from .conftest import wait_status
from .test_notifications_stream import read_event

VETRAI = str(Path(sys.executable).with_name("vetrai"))


@pytest.fixture
async def server(settings, notifications_env):
    """The app without the in-process worker of the other tests."""
    from vetrai.core.app import create_app

    async with create_app(settings).test_app() as test_app:
        yield test_app


@pytest.fixture
def worker(server, settings, tmp_path):
    env = subprocess_env(
        settings,
        keep="VETRAI_NOTIFICATIONS_",
        VETRAI_PUBLIC_URL=settings.resolved_public_url,
        VETRAI_PLUGINS="auth,notifications",
    )
    log = open(tmp_path / "worker.log", "wb")
    process = subprocess.Popen(
        [VETRAI, "worker", "--concurrency", "10"], env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    yield process
    # `vetrai worker` (taskiq's process manager) does not exit promptly on SIGTERM yet: give it a
    # moment, then end its process group (the manager and its worker process), started above.
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=3)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    log.close()


async def test_a_separate_worker_delivers_email_and_streams_in_app(server, worker, mailbox, tmp_path):
    from tests.auth.conftest import create_member

    client = server.test_client()
    admin = await create_member(server, "org_admin")
    member = await create_member(server, "user", admin.organization)
    async with client.request("/api/v1/notifications/stream", headers=member.headers) as connection:
        await connection.send_complete()
        assert (await asyncio.wait_for(connection.receive(), 5)).startswith(b": connected")
        response = await client.post(
            "/api/v1/notifications",
            json={"channel": "in_app", "recipient_id": member.id, "body": "from the worker"},
            headers=admin.headers,
        )
        assert response.status_code == 202
        try:
            event = await read_event(connection, timeout=45)
        except TimeoutError:
            pytest.fail("no event; worker log:\n" + (tmp_path / "worker.log").read_text())
        await connection.disconnect()
    assert event["data"]["body"] == "from the worker"
    assert worker.poll() is None

    await client.post("/api/v1/password-reset", json={"email": member.user.email})
    [message] = await mailbox.wait_for(member.user.email, timeout=30)
    assert message["Subject"] == "Reset your password"
    row = await wait_status(event["id"])
    assert row.status == "sent" and row.attempts == 1
