"""Notifications fixtures: a real SMTP server (aiosmtpd), a real HTTP receiver, and delivery.

On SQLite the in-memory broker runs ``notifications.deliver`` inside the app. On Postgres the
broker is a Redis stream and the ``app`` is the server only, so ``app`` here also runs a
taskiq ``Receiver`` on the same broker in this process: a worker, as ``vetrai worker`` would.
"""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import json
import os
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from vetrai.core.config import Settings
from vetrai.core.conformance import free_port, in_process_worker

PUBLIC_URL = "https://app.example.com"


class Mailbox:
    """aiosmtpd handler keeping every message; ``fail_next`` answers DATA with a 451 that many times."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.fail_next = 0
        self.refusals = 0
        self._lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self._lock:
            if self.fail_next > 0:
                self.fail_next -= 1
                self.refusals += 1
                return "451 4.3.0 Temporary local problem, try again later"
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
            self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))  # type: ignore[arg-type]
        return "250 2.0.0 OK"

    def to(self, address: str) -> list[EmailMessage]:
        return [message for message in self.messages if message["To"] == address]

    async def wait_for(self, address: str, count: int = 1, timeout: float = 15.0) -> list[EmailMessage]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.to(address)
            if len(found) >= count:
                return found
            await asyncio.sleep(0.02)
        raise AssertionError(f"no email to {address} within {timeout}s (have: {[m['To'] for m in self.messages]})")


@pytest.fixture
def smtp_server() -> Iterator[tuple[Mailbox, int]]:
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield mailbox, port
    finally:
        controller.stop()


@pytest.fixture
def mailbox(smtp_server: tuple[Mailbox, int]) -> Mailbox:
    return smtp_server[0]


class Receiver:
    """A real HTTP server recording every POST; ``responses`` scripts the status codes to answer."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.responses: list[int] = []
        self._lock = threading.Lock()

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def wait_for(self, count: int = 1, timeout: float = 15.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.requests) >= count:
                return self.requests
            await asyncio.sleep(0.02)
        raise AssertionError(f"the HTTP receiver got {len(self.requests)} requests, expected {count}")


@pytest.fixture
def http_receiver() -> Iterator[Receiver]:
    receiver = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with receiver._lock:
                status = receiver.responses.pop(0) if receiver.responses else 200
                receiver.requests.append(
                    {"path": self.path, "headers": dict(self.headers), "body": body, "status": status}
                )
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(json.dumps({"ok": status < 300}).encode())

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.port = server.server_address[1]  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()


WEBHOOK_SECRET = "test-webhook-secret-" + uuid.uuid4().hex


@pytest.fixture(autouse=True)
def external_messages_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Most tests mail addresses outside the organization: give unlimited organizations an allowance.

    Organizations created with explicit limits (the relay tests in test_notifications_security)
    keep theirs.
    """
    from vetrai.core.limits import DEFAULT_LIMITS

    monkeypatch.setitem(DEFAULT_LIMITS, "max_monthly_external_messages", 1_000)


@pytest.fixture
def notifications_env(
    monkeypatch: pytest.MonkeyPatch, smtp_server: tuple[Mailbox, int], http_receiver: Receiver
) -> dict[str, str]:
    """VETRAI_NOTIFICATIONS_* for the tests: the local SMTP server, fast retries, local webhooks."""
    values = {
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp_server[1]),
        "SMTP_FROM": "VetrAI Tests <no-reply@example.com>",
        "SMTP_TIMEOUT_SECONDS": "5",
        "RETRY_BASE_SECONDS": "0.05",
        "RETRY_MAX_SECONDS": "0.2",
        "MAX_ATTEMPTS": "4",
        "WEBHOOK_SECRET": WEBHOOK_SECRET,
        "WEBHOOK_ALLOW_PRIVATE": "true",
        "WEBHOOK_TIMEOUT_SECONDS": "5",
        "SMS_WEBHOOK_URL": http_receiver.url("/sms"),
        "PUSH_WEBHOOK_URL": http_receiver.url("/push"),
        "STREAM_KEEPALIVE_SECONDS": "0.5",
    }
    for name in ("SMTP_HOST", "SMTP_PORT", "SMTP_USERNAME", "SMTP_PASSWORD", "SMTP_STARTTLS", "SMTP_FROM"):
        monkeypatch.delenv(f"VETRAI_{name}", raising=False)
    for name, value in values.items():
        monkeypatch.setenv(f"VETRAI_NOTIFICATIONS_{name}", value)
    return values


@pytest.fixture
def settings(settings_factory: Callable[..., Settings]) -> Settings:
    return settings_factory(plugins=["auth", "notifications"], public_url=PUBLIC_URL)


@contextlib.asynccontextmanager
async def started(application: Any) -> AsyncIterator[Any]:
    """A started app; with a Redis broker also an in-process taskiq worker on it."""
    async with application.test_app() as test_app:
        platform = test_app.app.extensions["vetrai"]
        if platform.runs_tasks:
            yield test_app
            return
        async with in_process_worker(platform, max_async_tasks=50):
            yield test_app


@pytest.fixture
async def app(settings: Settings, notifications_env: dict[str, str]) -> AsyncIterator[Any]:
    from vetrai.core.app import create_app

    async with started(create_app(settings)) as test_app:
        yield test_app


@pytest.fixture
async def custom_app(
    settings_factory: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch, notifications_env: dict[str, str]
) -> AsyncIterator[Callable[..., Any]]:
    """``await custom_app({"smtp_host": ""}, **settings)``: another started app with overrides."""
    from vetrai.core.app import create_app

    stack = contextlib.AsyncExitStack()

    async def factory(
        env: dict[str, Any] | None = None, extra_plugins: tuple[object, ...] = (), **overrides: Any
    ) -> Any:
        for name, value in (env or {}).items():
            monkeypatch.setenv(f"VETRAI_NOTIFICATIONS_{name.upper()}", str(value))
        values = {"plugins": ["auth", "notifications"], "public_url": PUBLIC_URL, **overrides}
        return await stack.enter_async_context(
            started(create_app(settings_factory(**values), extra_plugins=extra_plugins))
        )

    yield factory
    await stack.aclose()


async def wait_status(
    notification_id: Any, statuses: tuple[str, ...] = ("sent", "failed", "read"), timeout: float = 15.0
) -> Any:
    """Poll the row until its status is one of ``statuses``; returns the row."""
    from vetrai.plugins.notifications.models import Notification

    deadline = time.monotonic() + timeout
    row = None
    while time.monotonic() < deadline:
        row = await Notification.get_or_none(id=notification_id)
        if row is not None and row.status in statuses:
            return row
        await asyncio.sleep(0.02)
    raise AssertionError(f"notification {notification_id} is {row.status if row else 'missing'}, expected {statuses}")


async def wait_rows(timeout: float = 15.0, count: int = 1, **filters: Any) -> list[Any]:
    """Poll until ``count`` notifications match ``filters`` and all of them are final."""
    from vetrai.plugins.notifications.models import Notification

    deadline = time.monotonic() + timeout
    rows: list[Any] = []
    while time.monotonic() < deadline:
        rows = list(await Notification.filter(**filters).order_by("created_at"))
        if len(rows) >= count and all(row.status in ("sent", "failed", "read") for row in rows):
            return rows
        await asyncio.sleep(0.02)
    raise AssertionError(
        f"expected {count} final notifications for {filters}, have {[(r.channel, r.status) for r in rows]}"
    )


if os.environ.get("VETRAI_TEST_BACKEND", "sqlite") != "postgres":
    # A separate worker process needs the Redis broker: only in the postgres backend run.
    collect_ignore = ["test_notifications_worker.py"]
