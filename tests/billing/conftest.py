"""Billing fixtures: a real localstripe server, signed webhooks, a live HTTP server for its webhooks.

``localstripe`` (a local Stripe API) runs once per session on a free loopback port. It has Plans
but no Prices, no Checkout, no billing portal and no billing meter events: ``stripe_stub``
starts a small HTTP server that answers those three endpoints itself (recording what it got)
and forwards every other request to localstripe unchanged.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import ClientSession, web

from tests.serving import serving
from vetrai.core.config import Settings
from vetrai.core.conformance import EventLog, free_port

API_KEY = "sk_test_vetrai_billing"
WEBHOOK_SECRET = "whsec_vetrai_test_secret"
LOCALSTRIPE = str(Path(sys.executable).with_name("localstripe"))
PLANS = [
    {
        "id": "vetrai_pro_monthly",
        "amount": 4900,
        "currency": "usd",
        "interval": "month",
        "product": {"name": "VetrAI Pro"},
    },
    {
        "id": "vetrai_enterprise_monthly",
        "amount": 49900,
        "currency": "usd",
        "interval": "month",
        "product": {"name": "VetrAI Enterprise"},
    },
]


async def wait_for_port(port: int, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            _reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            assert time.monotonic() < deadline, f"nothing listens on port {port}"
            await asyncio.sleep(0.05)


@pytest.fixture(scope="session")
def localstripe(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The URL of a localstripe server started for this test session, with our plans created."""
    port = free_port()
    log = open(tmp_path_factory.mktemp("localstripe") / "localstripe.log", "wb")
    process = subprocess.Popen(
        [LOCALSTRIPE, "--port", str(port), "--from-scratch"], stdout=log, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            assert process.poll() is None, "localstripe exited"
            try:
                httpx.get(f"{url}/v1/plans", headers={"Authorization": f"Bearer {API_KEY}"}, timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "localstripe did not start"
                time.sleep(0.1)
        for plan in PLANS:
            response = httpx.post(f"{url}/v1/plans", json=plan, headers={"Authorization": f"Bearer {API_KEY}"})
            assert response.status_code == 200, response.text
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@pytest.fixture
def recorder(vetrai_events: EventLog) -> EventLog:
    """Every domain event of the test (to assert what billing emitted): the kit's event log."""
    return vetrai_events


def billing_env(monkeypatch: pytest.MonkeyPatch, api_base: str | None, **extra: str) -> None:
    for name in ("STRIPE_API_KEY", "STRIPE_WEBHOOK_SECRET", "STRIPE_API_BASE"):
        monkeypatch.delenv(f"VETRAI_{name}", raising=False)
        monkeypatch.delenv(f"VETRAI_BILLING_{name}", raising=False)
    monkeypatch.setenv("VETRAI_BILLING_STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET)
    if api_base is not None:
        monkeypatch.setenv("VETRAI_BILLING_STRIPE_API_KEY", API_KEY)
        monkeypatch.setenv("VETRAI_BILLING_STRIPE_API_BASE", api_base)
    for name, value in extra.items():
        monkeypatch.setenv(f"VETRAI_BILLING_{name.upper()}", value)


@pytest.fixture
def settings(
    settings_factory: Callable[..., Settings], stripe_stub: StripeStub, monkeypatch: pytest.MonkeyPatch
) -> Settings:
    """Core, auth, keys (for API-key usage) and billing; Stripe is localstripe behind ``stripe_stub``."""
    billing_env(monkeypatch, stripe_stub.url)
    return settings_factory(plugins=["auth", "keys", "billing"])


def sign(payload: bytes, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    """A ``Stripe-Signature`` header computed exactly as Stripe does."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def make_event(
    event_type: str, obj: dict[str, Any], created: int | None = None, event_id: str | None = None
) -> dict[str, Any]:
    return {
        "id": event_id or f"evt_test_{uuid.uuid4().hex[:16]}",
        "object": "event",
        "type": event_type,
        "created": int(time.time()) if created is None else created,
        "livemode": False,
        "api_version": "2026-10-28.endive",
        "data": {"object": obj},
    }


@pytest.fixture
def send_webhook(app: Any) -> Callable[..., Any]:
    """``await send_webhook(event_dict_or_bytes, signature=None)`` -> the response."""
    client = app.test_client()

    async def factory(
        event: dict[str, Any] | bytes, signature: str | None = None, headers: dict[str, str] | None = None
    ) -> Any:
        body = event if isinstance(event, bytes) else json.dumps(event).encode()
        all_headers = {
            "Content-Type": "application/json",
            "Stripe-Signature": signature or sign(body),
            **(headers or {}),
        }
        return await client.post("/api/v1/billing/webhooks/stripe", data=body, headers=all_headers)

    return factory


@pytest.fixture
async def live_server(app: Any) -> AsyncIterator[str]:
    """The test app also served over real HTTP (hypercorn, same event loop), for localstripe's webhooks."""
    async with serving(app.app, lifespan=False) as base:
        yield base


@pytest.fixture
async def localstripe_webhooks(localstripe: str, live_server: str) -> AsyncIterator[None]:
    """localstripe sends its (signed) events to this test's live server; switched off afterwards."""
    hook_id = f"vetrai_{uuid.uuid4().hex[:8]}"
    url = f"{live_server}/api/v1/billing/webhooks/stripe"
    async with httpx.AsyncClient() as http:
        response = await http.post(
            f"{localstripe}/_config/webhooks/{hook_id}", json={"url": url, "secret": WEBHOOK_SECRET}
        )
        assert response.status_code == 200, response.text
        yield
        await http.post(
            f"{localstripe}/_config/webhooks/{hook_id}",
            json={"url": url, "secret": WEBHOOK_SECRET, "events": ["vetrai.off"]},
        )


class StripeStub:
    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.requests: list[dict[str, Any]] = []
        self.url = ""

    def named(self, path: str) -> list[dict[str, Any]]:
        return [request for request in self.requests if request["path"] == path]


@pytest.fixture
async def stripe_stub(localstripe: str) -> AsyncIterator[StripeStub]:
    """Checkout sessions, billing portal sessions and billing meter events (which localstripe lacks),
    answered here like Stripe does; everything else is forwarded to localstripe."""
    stub = StripeStub(localstripe)
    session = ClientSession()

    async def record(request: web.Request) -> dict[str, Any]:
        form = await request.post()
        entry = {"path": request.path, "form": dict(form), "headers": dict(request.headers)}
        stub.requests.append(entry)
        return entry

    async def checkout(request: web.Request) -> web.Response:
        await record(request)
        session_id = f"cs_test_{uuid.uuid4().hex[:12]}"
        return web.json_response(
            {"id": session_id, "object": "checkout.session", "url": f"https://checkout.stripe.com/c/pay/{session_id}"}
        )

    async def portal(request: web.Request) -> web.Response:
        await record(request)
        session_id = f"bps_{uuid.uuid4().hex[:12]}"
        return web.json_response(
            {
                "id": session_id,
                "object": "billing_portal.session",
                "url": f"https://billing.stripe.com/p/session/{session_id}",
            }
        )

    async def meter_event(request: web.Request) -> web.Response:
        entry = await record(request)
        return web.json_response(
            {
                "object": "billing.meter_event",
                "identifier": entry["form"].get("identifier"),
                "event_name": entry["form"].get("event_name"),
            }
        )

    async def forward(request: web.Request) -> web.Response:
        body = await request.read()
        headers = {
            name: value for name, value in request.headers.items() if name.lower() not in {"host", "content-length"}
        }
        async with session.request(
            request.method, stub.upstream + request.path_qs, data=body, headers=headers
        ) as upstream:
            return web.Response(body=await upstream.read(), status=upstream.status, content_type="application/json")

    application = web.Application()
    application.router.add_post("/v1/checkout/sessions", checkout)
    application.router.add_post("/v1/billing_portal/sessions", portal)
    application.router.add_post("/v1/billing/meter_events", meter_event)
    application.router.add_route("*", "/{tail:.*}", forward)
    runner = web.AppRunner(application)
    await runner.setup()
    port = free_port()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    stub.url = f"http://127.0.0.1:{port}"
    yield stub
    await runner.cleanup()
    await session.close()


async def wait_until(check: Callable[[], Any], timeout: float = 15, interval: float = 0.1) -> Any:
    """Poll an async ``check`` until it returns something truthy (for localstripe's delayed webhooks)."""
    deadline = time.monotonic() + timeout
    while True:
        value = await check()
        if value:
            return value
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(interval)


@pytest.fixture
def make_api_key(app: Any) -> Callable[..., Any]:
    """``await make_api_key(actor, scopes=[...])`` -> the key string (through the keys API)."""
    client = app.test_client()

    async def factory(actor: Any, scopes: list[str] | None = None, name: str = "test key") -> str:
        response = await client.post(
            "/api/v1/keys", json={"name": name, "scopes": list(scopes or [])}, headers=actor.headers
        )
        assert response.status_code == 201, await response.get_data(as_text=True)
        return (await response.get_json())["key"]

    return factory


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The Stripe SDK's HTTPXClient posts raw bytes with ``data=``, which httpx deprecates."""
    for item in items:
        if "tests/billing/" in str(item.path):
            item.add_marker(
                pytest.mark.filterwarnings("ignore:Use 'content=<...>' to upload raw bytes:DeprecationWarning")
            )
