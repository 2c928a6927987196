"""The kit's fixtures plus a receiving notification service on 127.0.0.1.

The receiver is a real HTTP server in a thread (there is no notification product to run
locally; it stands where Novu, Knock or your own service would): it records every request and
answers with the status codes a test queues, 200 once the queue is empty.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

SECRET = "relay-test-secret"


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    url: str
    requests: list[Received] = field(default_factory=list)
    statuses: deque[int] = field(default_factory=deque)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            state.requests.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            status = state.statuses.popleft() if state.statuses else 200
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/vetrai-events"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture(autouse=True)
def relay_environment(monkeypatch: pytest.MonkeyPatch, receiver: Receiver) -> None:
    """The deployment's settings: relay to the receiver (a private address, hence ALLOW_PRIVATE), fast retries."""
    monkeypatch.setenv("VETRAI_RELAY_URL", receiver.url)
    monkeypatch.setenv("VETRAI_RELAY_SECRET", SECRET)
    monkeypatch.setenv("VETRAI_RELAY_ALLOW_PRIVATE", "true")
    monkeypatch.setenv("VETRAI_RELAY_RETRY_BASE_SECONDS", "0.05")
    monkeypatch.setenv("VETRAI_RELAY_MAX_ATTEMPTS", "3")


@pytest.fixture
def vetrai_plugins() -> list[str]:
    """The core, auth, keys (for the kit's API keys) and the relay in place of notifications."""
    return ["auth", "keys", "relay"]


@pytest.fixture
def vetrai_worker() -> bool:
    """Deliveries are taskiq tasks: on the Redis broker a worker must run them."""
    return True
