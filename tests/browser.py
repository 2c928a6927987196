"""A real browser for the browser tests (tests/themes, tests/console).

``chromium_endpoint``: one headless Debian chromium per module, started with a DevTools
endpoint (import the fixture into the test module); tests/serving.py serves the app. Chromium
is required in CI (.ci/run installs it); elsewhere a module that asks for it is skipped with a
reason when /usr/bin/chromium (or ``$VETRAI_TEST_CHROMIUM``) is missing.
"""

from __future__ import annotations

import os
import queue
import re
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

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
