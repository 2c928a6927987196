"""A real browser and a real server for the browser tests (tests/themes, tests/console).

``chromium_endpoint``: one headless Debian chromium per module, started with a DevTools
endpoint (import the fixture into the test module). ``serving(app)``: the app under hypercorn
on a free loopback port. Chromium is required in CI (.ci/run installs it); elsewhere a module
that asks for it is skipped with a reason when /usr/bin/chromium (or ``$VETRAI_TEST_CHROMIUM``)
is missing.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import queue
import re
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from vetrai.core.conformance import free_port

CHROMIUM = os.environ.get("VETRAI_TEST_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
IN_CI = os.environ.get("CI", "").lower() == "true"


@pytest.fixture(scope="module")
def chromium_endpoint() -> Iterator[str]:
    """One headless chromium for the whole module; yields its DevTools websocket URL."""
    if not Path(CHROMIUM).exists():
        if IN_CI:
            pytest.fail(f"chromium not found at {CHROMIUM}: CI installs it (.ci/run)")
        pytest.skip(f"chromium not installed ({CHROMIUM}); `apt-get install chromium` to run the browser tests")
    profile = tempfile.mkdtemp(prefix="vetrai-chromium-")
    process = subprocess.Popen(
        [
            CHROMIUM,
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--no-default-browser-check",
            "--remote-debugging-address=127.0.0.1",
            "--remote-debugging-port=0",
            f"--user-data-dir={profile}",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    endpoints: queue.Queue[str | None] = queue.Queue()

    def drain() -> None:
        # Reads chromium's stderr to the end, so a chatty browser never blocks on a full pipe.
        assert process.stderr is not None
        for line in process.stderr:
            match = re.search(r"DevTools listening on (ws://\S+)", line)
            if match:
                endpoints.put(match.group(1))
        endpoints.put(None)

    threading.Thread(target=drain, name="chromium-stderr", daemon=True).start()
    try:
        try:
            endpoint = endpoints.get(timeout=30)
        except queue.Empty:
            endpoint = None
        if endpoint is None:
            pytest.fail(f"chromium did not start (exit code {process.poll()})")
        yield endpoint
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(profile, ignore_errors=True)


@contextlib.asynccontextmanager
async def serving(app: Any, within: float = 30.0) -> AsyncIterator[str]:
    """``app`` served by hypercorn on a free port in this event loop until the block ends; yields
    its base URL once ``/health`` answers 200 (within ``within`` seconds)."""
    from hypercorn.asyncio import serve
    from hypercorn.config import Config

    config = Config()
    config.bind = [f"127.0.0.1:{free_port()}"]
    config.accesslog = None
    config.errorlog = None
    stop = asyncio.Event()
    task = asyncio.create_task(serve(app, config, shutdown_trigger=stop.wait))  # type: ignore[arg-type]
    base = f"http://{config.bind[0]}"
    try:
        deadline = time.monotonic() + within
        async with httpx.AsyncClient(base_url=base) as probe:
            while True:
                if task.done():
                    task.result()
                with contextlib.suppress(httpx.TransportError):
                    if (await probe.get("/health")).status_code == 200:
                        break
                if time.monotonic() > deadline:
                    raise RuntimeError("the server did not start")
                await asyncio.sleep(0.05)
        yield base
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
