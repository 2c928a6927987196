"""A steady mixed load for a while: memory and open file descriptors stay flat, zero 5xx.

The full run (``make resilience``) lasts 30 minutes; the smoke inside ``make test`` 20 seconds.
The first quarter is warm-up (caches, connection pools, lazy imports); growth is measured
from its end.
"""

from __future__ import annotations

import asyncio
import os
import time

import httpx

from .conftest import harness, size

RATE_PER_SECOND = 40


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


async def steady_load(
    base_url: str, token: str, seconds: float, samples: list[tuple[int, int]], pid: int
) -> dict[int, int]:
    statuses: dict[int, int] = {}
    headers = {"Authorization": f"Bearer {token}"}
    requests = [
        ("GET", "/health", None),
        ("GET", "/api/v1/me", None),
        ("GET", "/api/v1/users?limit=20", None),
        ("PUT", "/api/v1/me", {"first_name": "Soak"}),
        ("GET", "/api/v1/nothing-here", None),
    ]
    started = time.monotonic()
    warmed = False
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=30) as client:
        sent = 0
        while (elapsed := time.monotonic() - started) < seconds:
            method, path, body = requests[sent % len(requests)]
            response = await client.request(method, path, json=body)
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            sent += 1
            if not warmed and elapsed > seconds / 4:
                warmed = True
                samples.append((harness.Server.rss_of(pid), open_fds(pid)))
            await asyncio.sleep(max(0.0, sent / RATE_PER_SECOND - (time.monotonic() - started)))
    samples.append((harness.Server.rss_of(pid), open_fds(pid)))
    return statuses


def test_memory_and_descriptors_stay_flat_with_no_server_errors(backend):
    seconds = size(20, 30 * 60)
    with harness.vetrai_server(backend) as server:
        harness.wait_ready(server.base_url)
        token = harness.register(server.base_url)["access_token"]
        samples: list[tuple[int, int]] = []
        statuses = asyncio.run(steady_load(server.base_url, token, seconds, samples, server.process.pid))
    assert not [status for status in statuses if status >= 500], statuses
    assert statuses[200] > seconds * RATE_PER_SECOND * 0.5
    (rss_warm, fds_warm), (rss_end, fds_end) = samples
    assert rss_end < rss_warm * 1.15 + 8 * 2**20, f"RSS grew from {rss_warm} to {rss_end} bytes"
    assert fds_end <= fds_warm + 5, f"open file descriptors grew from {fds_warm} to {fds_end}"
