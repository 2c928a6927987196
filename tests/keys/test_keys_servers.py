"""Two real `vetrai serve` processes sharing Postgres and Redis (postgres backend run only).

Revocation, a creator's demotion and the rate limit of a key are seen by both servers, and
both servers' usage counts reach the database (flushed at shutdown).
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from vetrai.core.conformance import free_port, subprocess_env
from vetrai.plugins.keys.models import ApiKeyUsage

from .conftest import key_headers

VETRAI = str(Path(sys.executable).with_name("vetrai"))


def server_env(settings, port: int) -> dict[str, str]:
    return subprocess_env(
        settings,
        VETRAI_PLUGINS="auth,keys",
        VETRAI_HOST="127.0.0.1",
        VETRAI_PORT=str(port),
        VETRAI_PUBLIC_URL=settings.resolved_public_url,
    )


@pytest.fixture
async def servers(app, settings, tmp_path):
    """Two started servers; stopped with SIGINT (graceful: usage is flushed) at the end."""
    processes = []
    urls = []
    for index in range(2):
        port = free_port()
        log = open(tmp_path / f"server{index}.log", "wb")
        process = subprocess.Popen(
            [VETRAI, "serve", "--port", str(port), "--no-migrate"],
            env=server_env(settings, port),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        processes.append((process, log))
        urls.append(f"http://127.0.0.1:{port}")
    deadline = time.monotonic() + 60
    async with httpx.AsyncClient() as client:
        for url, (process, _log) in zip(urls, processes, strict=True):
            while True:
                assert process.poll() is None, (tmp_path / "server0.log").read_text() + (
                    tmp_path / "server1.log"
                ).read_text()
                try:
                    if (await client.get(f"{url}/health")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "server did not start"
                await asyncio.sleep(0.2)

    def stop() -> None:
        for process, _ in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
        for process, log in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            log.close()

    yield urls, stop
    stop()


async def wait_for_status(
    client: httpx.AsyncClient, url: str, headers: dict[str, str], status: int, within: float = 1.0
) -> int:
    """Poll until ``status`` is answered or ``within`` seconds pass; returns the last status."""
    deadline = time.monotonic() + within
    while True:
        response = await client.get(url, headers=headers)
        if response.status_code == status or time.monotonic() >= deadline:
            return response.status_code
        await asyncio.sleep(0.02)


async def test_two_servers_share_revocation_demotion_and_rate_limits(servers, client, make_user, make_api_key):
    (first, second), stop = servers
    admin = await make_user("org_admin")
    colleague = await make_user("org_admin", organization=admin.organization)
    limited = await make_api_key(admin, scopes=["keys:read"], rate_limit={"requests": 6, "window_seconds": 600})
    revocable = await make_api_key(admin, scopes=["keys:read", "keys:write"])
    powerful = await make_api_key(admin, scopes=["auth:read", "keys:read"])

    async with httpx.AsyncClient(timeout=10) as http:
        remaining = []
        for index in range(6):
            url = (first, second)[index % 2]
            response = await http.get(f"{url}/api/v1/keys", headers=key_headers(limited))
            assert response.status_code == 200
            remaining.append(int(response.headers["RateLimit-Remaining"]))
        assert remaining == [5, 4, 3, 2, 1, 0]
        for url in (first, second):
            refused = await http.get(f"{url}/api/v1/keys", headers=key_headers(limited))
            assert refused.status_code == 429
            assert int(refused.headers["Retry-After"]) >= 1

        for url in (first, second):
            assert (await http.get(f"{url}/api/v1/keys", headers=key_headers(revocable))).status_code == 200
        key_id = next(
            item["id"]
            for item in (await http.get(f"{first}/api/v1/keys", headers=admin.headers)).json()["items"]
            if "keys:write" in item["scopes"]
        )
        assert (await http.delete(f"{first}/api/v1/keys/{key_id}", headers=key_headers(revocable))).status_code == 204
        assert (await http.get(f"{first}/api/v1/keys", headers=key_headers(revocable))).status_code == 401
        assert await wait_for_status(http, f"{second}/api/v1/keys", key_headers(revocable), 401) == 401

        for url in (first, second):
            assert (await http.get(f"{url}/api/v1/users", headers=key_headers(powerful))).status_code == 200
        demoted = await http.put(f"{first}/api/v1/users/{admin.id}", json={"role": "user"}, headers=colleague.headers)
        assert demoted.status_code == 200
        assert (await http.get(f"{first}/api/v1/users", headers=key_headers(powerful))).status_code == 403
        assert await wait_for_status(http, f"{second}/api/v1/users", key_headers(powerful), 403) == 403

    stop()
    counted = sum(await ApiKeyUsage.all().values_list("requests", flat=True))
    assert counted >= 8 + 3 + 4
    limited_id = next(
        item["id"]
        for item in (await (await client.get("/api/v1/keys", headers=colleague.headers)).get_json())["items"]
        if item["rate_limit"]
    )
    by_status = dict(await ApiKeyUsage.filter(api_key_id=limited_id).values_list("status", "requests"))
    assert by_status == {200: 6, 429: 2}
