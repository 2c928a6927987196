"""Relaying: record each chosen event, POST it signed, retry with backoff, let admins see and retry.

A delivery row and its message in VetrAI's transactional outbox (kind ``relay.deliver``, key
the delivery id) are written in one transaction in the emitter's request, so nothing is lost
if the broker is down. The core outbox claims, retries with backoff and takes over from a dead
worker; this module is what one attempt does. It is idempotent on the delivery: a row that is
no longer queued or sending is left alone, and the receiving service gets the event id as
``Idempotency-Key``. While ``VETRAI_RELAY_URL`` is unset rows are recorded without a message;
the ``relay.requeue`` schedule hands them to the outbox once a URL is configured.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from tortoise.exceptions import IntegrityError
from tortoise.expressions import F

from vetrai.core import outbound, outbox
from vetrai.core.auth import Principal
from vetrai.core.errors import PluginError, conflict
from vetrai.core.events import DomainEvent
from vetrai.core.hooks import Backoff, DeliveryError, OutboxHandler, TemporaryDeliveryError
from vetrai.core.models import OutboxMessage
from vetrai.core.pagination import PageQuery, paginate
from vetrai.core.platform import Platform, current_platform
from vetrai.core.tenancy import get_scoped, scoped
from vetrai_relay.models import RelayDelivery
from vetrai_relay.settings import RelaySettings

log = logging.getLogger("vetrai.relay")
FINAL = ("delivered", "failed")


KIND = "relay.deliver"


class TemporaryFailure(TemporaryDeliveryError):
    """Worth another attempt: a network error, a timeout, 5xx, 408, 425 or 429."""


class PermanentFailure(DeliveryError):
    """Not worth another attempt: the service refused the event (other 4xx) or the URL is not allowed."""


def settings() -> RelaySettings:
    return current_platform().plugin_settings("relay", RelaySettings)


def check_settings(platform: Platform) -> None:
    """Refuse to start with a URL but no secret: an unsigned relay could be spoofed by anyone."""
    configured = platform.plugin_settings("relay", RelaySettings)
    if configured.url is not None and configured.secret is None:
        raise PluginError("relay", "VETRAI_RELAY_URL is set but VETRAI_RELAY_SECRET is not")
    if configured.url is None:
        log.warning("VETRAI_RELAY_URL is not set: events are recorded as queued and sent once it is")


def now() -> datetime:
    return datetime.now(UTC)


def serialize(row: RelayDelivery) -> dict[str, Any]:
    return {
        "id": row.id,
        "organization_id": row.organization_id,  # type: ignore[attr-defined]
        "event_id": row.event_id,
        "event_name": row.event_name,
        "status": row.status,
        "attempts": row.attempts,
        "next_attempt_at": row.next_attempt_at,
        "response_status": row.response_status,
        "error": row.error,
        "delivered_at": row.delivered_at,
        "created_at": row.created_at,
    }


def envelope(event: DomainEvent) -> dict[str, Any]:
    """What the notification service receives: the event as emitted, JSON-safe."""
    return json.loads(
        json.dumps(
            {
                "id": event.id,
                "name": event.name,
                "organization_id": event.organization_id,
                "actor_id": event.actor_id,
                "occurred_at": event.occurred_at.isoformat(),
                "data": event.data,
            },
            default=str,
        )
    )


async def record(event: DomainEvent) -> RelayDelivery | None:
    """Store a chosen event once (a repeated call with the same event id stores nothing) and kick it."""
    config = settings()
    if event.organization_id is None or not config.relays(event.name):
        return None
    try:
        async with outbox.transaction() as conn:
            row = await RelayDelivery.create(
                organization_id=event.organization_id,
                event_id=event.id,
                event_name=event.name,
                payload=envelope(event),
                using_db=conn,
            )
            if config.url is not None:
                await enqueue(row.id, row.organization_id, using_db=conn)  # type: ignore[attr-defined]
    except IntegrityError:
        return None
    return row


async def enqueue(delivery_id: uuid.UUID, organization_id: uuid.UUID, **options: Any) -> uuid.UUID:
    """The delivery's outbox message (written once per delivery)."""
    return await outbox.enqueue(
        KIND, {"delivery_id": str(delivery_id)}, key=str(delivery_id), organization_id=organization_id, **options
    )


def backoff(config: RelaySettings, attempts: int) -> float:
    """base * 2^(attempts-1), capped, ±10% jitter so a backlog does not retry in lockstep."""
    return Backoff(config.retry_base_seconds, config.retry_max_seconds).delay(attempts)


def outbox_handlers(config: RelaySettings | None) -> list[OutboxHandler]:
    """The ``relay.deliver`` outbox kind with this deployment's attempts, backoff and lease."""
    config = config or RelaySettings()
    return [
        OutboxHandler(
            KIND,
            handle,
            max_attempts=config.max_attempts,
            backoff=Backoff(config.retry_base_seconds, config.retry_max_seconds),
            lease_seconds=config.timeout_seconds + 30,
        )
    ]


async def start(delivery_id: uuid.UUID, lease_until: datetime | None) -> RelayDelivery | None:
    """Mark the row as being sent (attempts + 1); None when it is settled already or gone."""
    started = await RelayDelivery.filter(id=delivery_id, status__in=["queued", "sending"]).update(
        status="sending", locked_until=lease_until, attempts=F("attempts") + 1
    )
    return await RelayDelivery.get_or_none(id=delivery_id) if started else None


async def post(config: RelaySettings, row: RelayDelivery) -> int:
    """POST the event, signed; returns the status code or raises Temporary/PermanentFailure."""
    url = str(config.url)
    if not config.allow_private:
        try:
            await outbound.ensure_public_host(url)
        except outbound.PrivateAddressError as exc:
            raise PermanentFailure(
                f"{exc}; set VETRAI_RELAY_ALLOW_PRIVATE=true for a service on your network"
            ) from None
        except OSError as exc:
            raise TemporaryFailure(f"cannot resolve the relay host: {exc}") from None
    body = json.dumps(row.payload, separators=(",", ":"), sort_keys=True).encode()
    secret = config.secret.get_secret_value() if config.secret else ""
    headers = {
        "Content-Type": "application/json",
        "X-VetrAI-Event": row.event_name,
        **outbound.signature_headers(secret, body),
        "Idempotency-Key": str(row.event_id),
    }
    try:
        async with httpx.AsyncClient(timeout=config.timeout_seconds, follow_redirects=False) as client:
            response = await client.post(url, content=body, headers=headers)
    except httpx.TransportError as exc:
        raise TemporaryFailure(f"{type(exc).__name__}: {exc}") from None
    if response.is_success:
        return response.status_code
    summary = f"the relay answered {response.status_code}: {response.text[:200]}"
    if response.status_code >= 500 or response.status_code in (408, 425, 429):
        raise TemporaryFailure(summary)
    raise PermanentFailure(summary)


async def _settle(row: RelayDelivery, **changes: Any) -> None:
    await RelayDelivery.filter(id=row.id, status="sending").update(locked_until=None, **changes)


async def attempt(row: RelayDelivery, config: RelaySettings, *, last: bool) -> None:
    """One attempt on a started row, its outcome recorded on the row; raises to retry or fail the message."""
    try:
        status = await post(config, row)
    except TemporaryFailure as exc:
        if last:
            reason = f"gave up after {row.attempts} attempts: {exc}"[:2000]
            await _settle(row, status="failed", error=reason)
            raise PermanentFailure(reason) from exc
        delay = backoff(config, row.attempts)
        await _settle(row, status="queued", error=str(exc)[:2000], next_attempt_at=now() + timedelta(seconds=delay))
        raise TemporaryFailure(str(exc), retry_after=delay) from exc
    except PermanentFailure as exc:
        await _settle(row, status="failed", error=str(exc)[:2000])
        raise
    # The payload may carry credentials (reset links): keep it no longer than the delivery.
    await _settle(row, status="delivered", response_status=status, error=None, delivered_at=now(), payload=None)


async def handle(message: OutboxMessage) -> None:
    """The outbox handler of ``relay.deliver``: one attempt at the delivery it names."""
    config = settings()
    if config.url is None:
        raise TemporaryFailure("VETRAI_RELAY_URL is not set", retry_after=300)
    row = await start(uuid.UUID(message.payload["delivery_id"]), message.lease_until)
    if row is None:
        return  # delivered or failed already: a repeated message sends nothing
    await attempt(row, config, last=message.attempts >= message.max_attempts)


async def deliver(delivery_id: str) -> str:
    """taskiq task ``relay.deliver``: deliver one event now through its outbox message; returns its status."""
    key = uuid.UUID(delivery_id)
    row = await RelayDelivery.get_or_none(id=key)
    if row is None:
        return "missing"
    if settings().url is None:  # recorded, and handed to the outbox by relay.requeue once a URL is set
        return row.status
    message_id = await enqueue(row.id, row.organization_id, kick=False)  # type: ignore[attr-defined]
    platform = current_platform()
    while True:
        _status, delay = await outbox.deliver_once(platform, message_id)
        if delay is None or delay > outbox.INLINE_RETRY_SECONDS:
            return (await RelayDelivery.get(id=key)).status
        await asyncio.sleep(delay)


async def requeue() -> int:
    """taskiq task ``relay.requeue``: hand queued rows that have no outbox message to the outbox.

    Those are events recorded while no URL was set (or before the outbox existed); rows the
    outbox knows are retried and taken over by its own sweep.
    """
    if settings().url is None:
        return 0
    adopted = await outbox.unadopted(RelayDelivery, KIND)
    for row_id, organization_id in adopted:
        await enqueue(row_id, organization_id)
    return len(adopted)


async def list_deliveries(principal: Principal, query: PageQuery, status: str | None) -> dict[str, Any]:
    filters = {"status": status} if status else {}
    return await paginate(scoped(RelayDelivery, principal, **filters), query, serialize)


async def get_delivery(principal: Principal, delivery_id: str) -> RelayDelivery:
    return await get_scoped(RelayDelivery, principal, delivery_id)


async def retry(principal: Principal, delivery_id: str) -> RelayDelivery:
    """Send a failed delivery again from the start (409 for any other status)."""
    row = await get_delivery(principal, delivery_id)
    async with outbox.transaction() as conn:
        updated = (
            await RelayDelivery.filter(id=row.id, status="failed")
            .using_db(conn)
            .update(status="queued", attempts=0, error=None, next_attempt_at=None, response_status=None)
        )
        if not updated:
            raise conflict(f"only a failed delivery can be retried; this one is {row.status}")
        if not await outbox.retry(KIND, str(row.id), using_db=conn):
            await enqueue(row.id, row.organization_id, using_db=conn)  # type: ignore[attr-defined]
    return await RelayDelivery.get(id=row.id)
