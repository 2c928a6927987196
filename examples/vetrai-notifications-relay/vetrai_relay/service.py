"""Relaying: record each chosen event, POST it signed, retry with backoff, let admins see and retry.

A delivery row is written in the emitter's request (so nothing is lost if the broker is down)
and claimed atomically by the ``relay.deliver`` task (``queued`` -> ``sending`` with a lease),
so a redelivered task message sends nothing twice. The ``relay.requeue`` schedule re-sends
the task for rows whose message was lost.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from tortoise.exceptions import IntegrityError
from tortoise.expressions import F, Q

from vetrai.core import outbound
from vetrai.core.auth import Principal
from vetrai.core.errors import PluginError, conflict
from vetrai.core.events import DomainEvent
from vetrai.core.pagination import PageQuery, paginate
from vetrai.core.platform import Platform, current_platform
from vetrai.core.tenancy import get_scoped, scoped
from vetrai_relay.models import RelayDelivery
from vetrai_relay.settings import RelaySettings

log = logging.getLogger("vetrai.relay")
FINAL = ("delivered", "failed")


class TemporaryFailure(Exception):
    """Worth another attempt: a network error, a timeout, 5xx, 408, 425 or 429."""


class PermanentFailure(Exception):
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
    if event.organization_id is None or not settings().relays(event.name):
        return None
    try:
        row = await RelayDelivery.create(
            organization_id=event.organization_id, event_id=event.id, event_name=event.name, payload=envelope(event)
        )
    except IntegrityError:
        return None
    await kick(row.id)
    return row


async def kick(delivery_id: uuid.UUID) -> None:
    """Send the delivery task; if the broker is down the row stays queued for ``relay.requeue``."""
    task = current_platform().broker.find_task("relay.deliver")
    try:
        await task.kiq(str(delivery_id))  # type: ignore[union-attr]
    except Exception:
        log.exception("could not queue relay delivery %s; the requeue schedule will retry", delivery_id)


def backoff(config: RelaySettings, attempts: int) -> float:
    """base * 2^(attempts-1), capped, ±10% jitter so a backlog does not retry in lockstep."""
    return min(config.retry_max_seconds, config.retry_base_seconds * 2 ** max(0, attempts - 1)) * random.uniform(
        0.9, 1.1
    )


async def claim(delivery_id: uuid.UUID, lease_seconds: float) -> RelayDelivery | None:
    current = now()
    ready = Q(status="queued") & (Q(next_attempt_at=None) | Q(next_attempt_at__lte=current))
    abandoned = Q(status="sending") & Q(locked_until__lt=current)
    claimed = await RelayDelivery.filter(Q(id=delivery_id) & (ready | abandoned)).update(
        status="sending", locked_until=current + timedelta(seconds=lease_seconds), attempts=F("attempts") + 1
    )
    return await RelayDelivery.get_or_none(id=delivery_id) if claimed else None


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
    timestamp = str(int(time.time()))
    secret = config.secret.get_secret_value() if config.secret else ""
    headers = {
        "Content-Type": "application/json",
        "X-VetrAI-Event": row.event_name,
        "X-VetrAI-Timestamp": timestamp,
        "X-VetrAI-Signature": f"sha256={outbound.hmac_sha256_hex(secret, timestamp, body)}",
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


async def attempt(row: RelayDelivery, config: RelaySettings) -> float | None:
    """One attempt on a claimed row; the delay before the next one, or None when it is settled."""
    try:
        status = await post(config, row)
    except TemporaryFailure as exc:
        if row.attempts >= config.max_attempts:
            await _settle(row, status="failed", error=f"gave up after {row.attempts} attempts: {exc}"[:2000])
            return None
        delay = backoff(config, row.attempts)
        await _settle(row, status="queued", error=str(exc)[:2000], next_attempt_at=now() + timedelta(seconds=delay))
        log.warning("relay of %s attempt %s failed (%s); retrying in %.1fs", row.event_name, row.attempts, exc, delay)
        return delay
    except PermanentFailure as exc:
        await _settle(row, status="failed", error=str(exc)[:2000])
        return None
    # The payload may carry credentials (reset links): keep it no longer than the delivery.
    await _settle(row, status="delivered", response_status=status, error=None, delivered_at=now(), payload=None)
    return None


async def deliver(delivery_id: str) -> str:
    """taskiq task ``relay.deliver``: deliver one event, at least once, retrying in place."""
    config = settings()
    key = uuid.UUID(delivery_id)
    if config.url is None:  # recorded, and sent by relay.requeue once a URL is configured
        return "queued"
    while True:
        row = await claim(key, lease_seconds=config.timeout_seconds + 30)
        if row is None:
            current = await RelayDelivery.get_or_none(id=key)
            return current.status if current is not None else "missing"
        delay = await attempt(row, config)
        if delay is None:
            return (await RelayDelivery.get(id=key)).status
        await asyncio.sleep(delay)


async def requeue() -> int:
    """taskiq task ``relay.requeue``: re-send the task of rows whose message was lost."""
    if settings().url is None:
        return 0
    current = now()
    grace = timedelta(seconds=60)
    stale = (
        await RelayDelivery.filter(
            Q(status="queued", next_attempt_at=None, created_at__lt=current - grace)
            | Q(status="queued", next_attempt_at__lt=current - grace)
            | Q(status="sending", locked_until__lt=current)
        )
        .limit(500)
        .values_list("id", flat=True)
    )
    for delivery_id in stale:
        await kick(delivery_id)
    return len(stale)


async def list_deliveries(principal: Principal, query: PageQuery, status: str | None) -> dict[str, Any]:
    filters = {"status": status} if status else {}
    return await paginate(scoped(RelayDelivery, principal, **filters), query, serialize)


async def get_delivery(principal: Principal, delivery_id: str) -> RelayDelivery:
    return await get_scoped(RelayDelivery, principal, delivery_id)


async def retry(principal: Principal, delivery_id: str) -> RelayDelivery:
    """Send a failed delivery again from the start (409 for any other status)."""
    row = await get_delivery(principal, delivery_id)
    updated = await RelayDelivery.filter(id=row.id, status="failed").update(
        status="queued", attempts=0, error=None, next_attempt_at=None, response_status=None
    )
    if not updated:
        raise conflict(f"only a failed delivery can be retried; this one is {row.status}")
    await kick(row.id)
    return await RelayDelivery.get(id=row.id)
