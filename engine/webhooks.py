"""Signed webhooks of runs that finished or wait for a person, delivered by the outbox.

Signed with the one scheme (``X-VetrAI-Signature: t=<unix>,v1=<hex HMAC-SHA256>``,
``core.outbound.signature_headers``) and sent through ``guarded_client`` (no private addresses
unless allowed). ``X-VetrAI-Delivery`` is the outbox message's key, the same on every attempt of
one delivery: delivery is at least once, so a receiver dedupes on it.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from typing import TYPE_CHECKING

from pydantic_core import to_json

from vetrai.core.hooks import DeliveryError, TemporaryDeliveryError
from vetrai.core.outbound import PrivateAddressError, ensure_public_host, guarded_client, signature_headers
from vetrai.engine.models import Job
from vetrai.engine.settings import WorkersSettings

if TYPE_CHECKING:
    from vetrai.core.platform import Platform

log = logging.getLogger("vetrai.engine")
RETRIED_STATUSES = frozenset({408, 425, 429})
"""4xx answers worth another attempt; any other 4xx means the receiver will not take it."""


def webhook_secret(platform: Platform) -> str:
    return hmac.new(
        platform.settings.resolved_secret_key.encode(), b"vetrai-workers-webhook", hashlib.sha256
    ).hexdigest()


async def deliver_webhook(platform: Platform, job_id: str, event: str, status: str, delivery: str) -> None:
    """POST one event of a run, signed. Raises ``TemporaryDeliveryError`` (the outbox retries
    with backoff) or ``DeliveryError`` (a refused address, a 4xx: not retried). A run deleted
    meanwhile (a rollback) has nothing to send."""
    import httpx

    from vetrai.engine.streams import serialize_job

    settings = platform.plugin_settings("workers", WorkersSettings)
    job = await Job.get_or_none(id=job_id)
    if job is None or not job.webhook_url:
        return
    body = to_json({"event": event, "status": status, "delivery": delivery, "job": serialize_job(job)}, fallback=str)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "VetrAI-Webhooks",
        "X-VetrAI-Event": event,
        "X-VetrAI-Delivery": delivery,
        **signature_headers(webhook_secret(platform), body),
    }
    if not settings.webhook_allow_private:
        try:
            await ensure_public_host(job.webhook_url)
        except PrivateAddressError as exc:
            log.warning("webhook of job %s refused: %s (VETRAI_WORKERS_WEBHOOK_ALLOW_PRIVATE)", job.id, exc)
            raise DeliveryError(f"refused: {exc}") from None
        except OSError as exc:
            raise TemporaryDeliveryError(f"cannot resolve the webhook's host: {exc}") from None
    try:
        # Checks the address it connects to: a host re-resolving to a private one is refused.
        async with guarded_client(timeout=10, allow_private=settings.webhook_allow_private) as client:
            response = await client.post(job.webhook_url, content=body, headers=headers)
    except PrivateAddressError as exc:
        raise DeliveryError(f"refused: {exc}") from None
    except (httpx.HTTPError, OSError) as exc:
        raise TemporaryDeliveryError(repr(exc)) from None
    if response.status_code < 300:
        return
    problem = f"HTTP {response.status_code}"
    if 400 <= response.status_code < 500 and response.status_code not in RETRIED_STATUSES:
        raise DeliveryError(problem)
    raise TemporaryDeliveryError(problem)
