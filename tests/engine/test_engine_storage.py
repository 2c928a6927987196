"""Storage quota across plugins: run checkpoints, events, inputs and outputs count toward
``max_storage_bytes`` with support attachments and theme assets (``vetrai_storage_used``)."""

from __future__ import annotations

import asyncio
import struct
import uuid
import zlib
from collections.abc import Callable
from typing import Any

import pytest

from vetrai.core.config import Settings
from vetrai.core.models import Organization
from vetrai.core.tenancy import storage_usage, storage_used

LIMIT = 1000
"""Below what one ended run of ``sleep`` keeps (its events and its pruned checkpoint), so that
run alone puts the organization over it."""


@pytest.fixture
def settings(settings_factory: Callable[..., Settings]) -> Settings:
    return settings_factory(plugins=["auth", "workers", "support", "themes"])


def png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0)
    rows = b"".join(b"\x00" + bytes((200, 30, 30)) * 2 for _ in range(2))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


async def post_file(client: Any, actor: Any, url: str, content: bytes) -> Any:
    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    headers = {**actor.headers, "Content-Type": f"multipart/form-data; boundary={boundary}"}
    return await client.post(url, data=body, headers=headers)


async def attach(client: Any, actor: Any) -> Any:
    ticket = await client.post(
        "/api/v1/support/tickets", json={"subject": "s", "description": "d"}, headers=actor.headers
    )
    assert ticket.status_code == 201, await ticket.get_data(as_text=True)
    return await post_file(
        client, actor, f"/api/v1/support/tickets/{(await ticket.get_json())['id']}/attachments", png()
    )


async def usage(client: Any, actor: Any) -> dict[str, Any]:
    response = await client.get(f"/api/v1/organizations/{actor.organization.id}/usage", headers=actor.headers)
    assert response.status_code == 200
    return await response.get_json()


async def pruned(platform: Any, job_id: str) -> None:
    """Wait (with a deadline) until the ended run's checkpoints are pruned to its latest one."""
    saver = platform.state["workers"].checkpointer
    deadline = asyncio.get_running_loop().time() + 15
    while len([item async for item in saver.alist({"configurable": {"thread_id": job_id}})]) != 1:
        assert asyncio.get_running_loop().time() < deadline, "the checkpoints were not pruned"
        await asyncio.sleep(0.02)


def refused(problem: dict[str, Any]) -> bool:
    return problem["type"].endswith("quota-exceeded") and problem["limit"] == "max_storage_bytes"


async def test_vetrai_storage_used_counts_run_checkpoints_toward_max_storage_bytes(
    client, platform, make_org, make_user, jobs
):
    organization = await make_org(limits={"max_storage_bytes": LIMIT})
    admin = await make_user("org_admin", organization=organization)
    other = await make_user("org_admin")
    assert (await usage(client, admin))["storage_bytes"] == 0

    job = await jobs.create(admin, "sleep", {"seconds": 0.01, "steps": 20})
    await jobs.wait(admin, job["id"], "succeeded")
    await pruned(platform, job["id"])
    shown = await usage(client, admin)
    by_plugin = await storage_usage(platform, organization.id)
    assert shown["storage_bytes_by_plugin"] == by_plugin and set(by_plugin) >= {"workers", "support", "themes"}
    assert shown["storage_bytes"] == await storage_used(platform, organization.id) == sum(by_plugin.values())
    assert shown["max_storage_bytes"] == LIMIT
    assert by_plugin["workers"] > LIMIT and by_plugin["support"] == by_plugin["themes"] == 0

    # Over the limit by its run alone: no upload, no theme asset, no new run, no retry.
    response = await attach(client, admin)
    assert response.status_code == 403 and refused(await response.get_json())
    response = await post_file(client, admin, "/api/v1/themes/assets/logo", png())
    assert response.status_code == 403 and refused(await response.get_json())
    assert refused(await jobs.create(admin, "echo", expect=403))
    cancelled = await jobs.create(other, "sleep", {"seconds": 60, "steps": 60})
    await jobs.action(other, cancelled["id"], "cancel")
    await jobs.wait(other, cancelled["id"], "cancelled")

    # Another organization is not affected.
    assert (await attach(client, other)).status_code == 201
    assert (await post_file(client, other, "/api/v1/themes/assets/logo", png())).status_code == 200
    theirs = await usage(client, other)
    assert theirs["storage_bytes_by_plugin"]["support"] == theirs["storage_bytes_by_plugin"]["themes"] == len(png())
    assert (
        await client.get(f"/api/v1/organizations/{organization.id}/usage", headers=other.headers)
    ).status_code == 404

    # Over its limit the other organization's cancelled run cannot be retried either.
    await Organization.filter(id=other.organization.id).update(limits={"max_storage_bytes": 1})
    assert refused(await jobs.action(other, cancelled["id"], "retry", expect=403))

    # Deleting the run frees its bytes: uploads work again.
    assert (await client.delete(f"/api/v1/workers/jobs/{job['id']}", headers=admin.headers)).status_code == 204
    assert (await usage(client, admin))["storage_bytes"] == 0
    assert (await attach(client, admin)).status_code == 201
    assert (await usage(client, admin))["storage_bytes_by_plugin"]["support"] == len(png())
