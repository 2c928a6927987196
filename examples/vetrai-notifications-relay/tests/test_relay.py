"""The relay end to end: events reach the receiving service signed, failures retry, admins see and retry."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import inspect
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import SECRET

from vetrai.core.conformance import in_process_worker
from vetrai.core.outbound import verify_signature


async def eventually(check: Callable[[], Any], timeout: float = 10.0) -> Any:
    """Poll ``check`` (sync or async) until it returns something truthy: deliveries run in the background."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = check()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return result
        assert asyncio.get_running_loop().time() < deadline, "timed out waiting"
        await asyncio.sleep(0.05)


async def delivery_of(admin, event_name: str, status: str | None = None) -> dict[str, Any] | None:
    items = (await (await admin.get("/api/v1/relay/deliveries")).get_json())["items"]
    return next((item for item in items if item["event_name"] == event_name and status in (None, item["status"])), None)


async def emit(vetrai_app, name: str, data: dict[str, Any], admin) -> Any:
    platform = vetrai_app.app.extensions["vetrai"]
    async with vetrai_app.app.app_context():
        return await platform.events.emit(name, data, organization_id=admin.user.organization_id)


async def test_a_registration_reaches_the_service_signed(client, make_user, receiver):
    response = await client.post(
        "/api/v1/register",
        json={"email": "ada@example.com", "password": "correct horse battery", "organization_name": "Analytical"},
    )
    assert response.status_code == 201, await response.get_data(as_text=True)
    request = await eventually(
        lambda: next((r for r in receiver.requests if r.headers["x-vetrai-event"] == "auth.user_registered"), None)
    )
    stamp, digest = (part.partition("=")[2] for part in request.headers["x-vetrai-signature"].split(","))
    expected = hmac.new(SECRET.encode(), stamp.encode() + b"." + request.body, hashlib.sha256).hexdigest()
    assert request.headers["x-vetrai-signature"] == f"t={stamp},v1={expected}"
    assert verify_signature(SECRET, request.body, request.headers["x-vetrai-signature"])
    assert not verify_signature("another secret", request.body, request.headers["x-vetrai-signature"])
    assert request.path == "/vetrai-events"
    event = json.loads(request.body)
    assert event["name"] == "auth.user_registered" and event["data"]["email"] == "ada@example.com"
    assert request.headers["idempotency-key"] == event["id"]

    login = await client.post("/api/v1/login", json={"email": "ada@example.com", "password": "correct horse battery"})
    headers = {"Authorization": f"Bearer {(await login.get_json())['access_token']}"}
    page = await (await client.get("/api/v1/relay/deliveries", headers=headers)).get_json()
    delivered = next(item for item in page["items"] if item["event_id"] == event["id"])
    assert delivered["status"] == "delivered" and delivered["attempts"] == 1 and delivered["response_status"] == 200


async def test_a_password_reset_link_goes_to_the_service_and_is_not_kept(client, make_user, receiver, vetrai_app):
    """Without the notifications plugin the relay is what gets the reset link to the user."""
    admin = await make_user("org_admin")
    assert (await client.post("/api/v1/password-reset", json={"email": admin.email})).status_code == 202
    request = await eventually(
        lambda: next(
            (r for r in receiver.requests if r.headers["x-vetrai-event"] == "auth.password_reset_requested"), None
        )
    )
    assert "/reset-password" in json.loads(request.body)["data"]["reset_url"]
    from vetrai_relay.models import RelayDelivery

    row = await eventually(
        lambda: RelayDelivery.get_or_none(event_name="auth.password_reset_requested", status="delivered")
    )
    assert row.payload is None


async def test_temporary_failures_are_retried_until_delivered(make_user, receiver, vetrai_app):
    admin = await make_user("org_admin")
    receiver.statuses.extend([503, 429])
    await emit(vetrai_app, "support.ticket_created", {"ticket_id": "t-1"}, admin)
    delivered = await eventually(lambda: delivery_of(admin, "support.ticket_created", "delivered"))
    assert delivered["attempts"] == 3 and delivered["error"] is None
    bodies = [r.body for r in receiver.requests if r.headers["x-vetrai-event"] == "support.ticket_created"]
    assert len(bodies) == 3 and len(set(bodies)) == 1


async def test_it_gives_up_after_max_attempts(make_user, receiver, vetrai_app):
    admin = await make_user("org_admin")
    receiver.statuses.extend([500, 500, 500])
    await emit(vetrai_app, "engine.job_finished", {"job_id": "j-1"}, admin)
    failed = await eventually(lambda: delivery_of(admin, "engine.job_finished", "failed"))
    assert failed["attempts"] == 3 and failed["error"].startswith("gave up after 3 attempts: the relay answered 500")


async def test_a_refused_event_fails_at_once_and_an_admin_can_retry_it(make_user, receiver, vetrai_app):
    admin = await make_user("org_admin")
    receiver.statuses.append(400)
    await emit(vetrai_app, "billing.payment_failed", {"invoice_id": "in_1"}, admin)
    failed = await eventually(lambda: delivery_of(admin, "billing.payment_failed", "failed"))
    assert failed["attempts"] == 1 and "answered 400" in failed["error"]

    retried = await admin.post(f"/api/v1/relay/deliveries/{failed['id']}/retry")
    assert retried.status_code == 202
    delivered = await eventually(lambda: delivery_of(admin, "billing.payment_failed", "delivered"))
    assert delivered["id"] == failed["id"] and delivered["attempts"] == 1
    again = await admin.post(f"/api/v1/relay/deliveries/{failed['id']}/retry")
    assert again.status_code == 409 and again.headers["Content-Type"] == "application/problem+json"


async def test_only_chosen_events_of_an_organization_are_relayed(make_user, receiver, vetrai_app):
    admin = await make_user("org_admin")
    await emit(vetrai_app, "hello.greeting_created", {"greeting_id": "g"}, admin)
    await emit(vetrai_app, "auth.password_changed", {"user_id": admin.id}, admin)
    await eventually(lambda: delivery_of(admin, "auth.password_changed", "delivered"))
    names = [item["event_name"] for item in (await (await admin.get("/api/v1/relay/deliveries")).get_json())["items"]]
    assert names == ["auth.password_changed"]
    assert all(r.headers["x-vetrai-event"] != "hello.greeting_created" for r in receiver.requests)


async def test_deliveries_are_for_admins_and_filter_by_status(make_user, receiver, vetrai_app):
    admin = await make_user("org_admin")
    member = await make_user("user", admin.organization)
    receiver.statuses.append(400)
    await emit(vetrai_app, "support.comment_added", {}, admin)
    await eventually(lambda: delivery_of(admin, "support.comment_added", "failed"))
    await emit(vetrai_app, "support.ticket_updated", {}, admin)  # after: the 400 was for the comment
    await eventually(lambda: delivery_of(admin, "support.ticket_updated", "delivered"))
    failed = await (await admin.get("/api/v1/relay/deliveries", query_string={"status": "failed"})).get_json()
    assert [item["event_name"] for item in failed["items"]] == ["support.comment_added"]
    assert (await admin.get("/api/v1/relay/deliveries", query_string={"status": "lost"})).status_code == 422
    assert (await member.get("/api/v1/relay/deliveries")).status_code == 403


async def test_a_private_address_is_refused_unless_allowed(make_user, receiver, vetrai_app):
    from vetrai_relay import service
    from vetrai_relay.models import RelayDelivery
    from vetrai_relay.settings import RelaySettings

    admin = await make_user("org_admin")
    row = await RelayDelivery.create(
        organization_id=admin.user.organization_id, event_id=uuid.uuid4(), event_name="auth.x", payload={}
    )
    with pytest.raises(service.PermanentFailure, match="VETRAI_RELAY_ALLOW_PRIVATE"):
        await service.post(RelaySettings(url=receiver.url, secret="s", allow_private=False), row)
    assert receiver.requests == []


async def test_a_url_without_a_secret_refuses_to_start(monkeypatch, vetrai_settings):
    from vetrai.core.app import create_app

    monkeypatch.delenv("VETRAI_RELAY_SECRET")
    with pytest.raises(Exception, match="VETRAI_RELAY_URL is set but VETRAI_RELAY_SECRET is not"):
        async with create_app(vetrai_settings).test_app():
            pass


def worker_beside(test_app) -> contextlib.AbstractAsyncContextManager[None]:
    platform = test_app.app.extensions["vetrai"]
    return contextlib.nullcontext() if platform.runs_tasks else in_process_worker(platform)


async def test_a_deployment_swaps_notifications_for_the_relay(vetrai_settings_factory, receiver):
    """VETRAI_DISABLE_PLUGINS=notifications with every other installed plugin: the relay takes its place."""
    from quart.testing.app import TestApp

    from vetrai.core.app import create_app

    app = create_app(vetrai_settings_factory(plugins=None, disable_plugins=["notifications"]))
    # Migrating every installed plugin from zero on PostgreSQL can outlast Quart's 6 s start-up bound on a busy machine.
    async with TestApp(app, startup_timeout=60) as test_app, worker_beside(test_app):
        client = test_app.test_client()
        paths = (await (await client.get("/openapi.json")).get_json())["paths"]
        assert "/api/v1/relay/deliveries" in paths
        assert not any(path.startswith("/api/v1/notifications") for path in paths)
        body = {"email": "grace@example.com", "password": "correct horse battery", "organization_name": "Navy"}
        assert (await client.post("/api/v1/register", json=body)).status_code == 201
        await eventually(lambda: any(r.headers["x-vetrai-event"] == "auth.user_registered" for r in receiver.requests))

    listed = subprocess.run(
        [str(Path(sys.executable).with_name("vetrai")), "plugins"],
        env={**os.environ, "VETRAI_DISABLE_PLUGINS": "notifications"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    names = {line.split()[0] for line in listed.splitlines() if line.strip()}
    assert "relay" in names and "notifications" not in names


async def test_without_a_url_events_are_recorded_and_wait(monkeypatch, vetrai_settings, receiver):
    from vetrai_relay import service
    from vetrai_relay.models import RelayDelivery

    from vetrai.core.app import create_app
    from vetrai.core.organizations.service import create_organization

    monkeypatch.delenv("VETRAI_RELAY_URL")
    app = create_app(vetrai_settings)
    async with app.test_app(), app.app_context():
        org = await create_organization("Waiting")
        event = await app.extensions["vetrai"].events.emit("auth.password_changed", {}, organization_id=org.id)
        row = await RelayDelivery.get(event_id=event.id)
        assert await service.deliver(str(row.id)) == "queued"
        assert (await RelayDelivery.get(id=row.id)).attempts == 0
    assert receiver.requests == []
