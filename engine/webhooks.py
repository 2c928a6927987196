"""Signed webhooks of finished runs (``X-VetrAI-Signature: t=<unix>,v1=<hex HMAC-SHA256>``)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
from typing import TYPE_CHECKING

from vetrai.core.outbound import PrivateAddressError, ensure_public_host, guarded_client, signature_headers
from vetrai.engine.dispatch import WEBHOOK_TASK
from vetrai.engine.models import FINISHED, Job
from vetrai.engine.settings import WorkersSettings

if TYPE_CHECKING:
    from vetrai.core.platform import Platform

log = logging.getLogger("vetrai.engine")


def webhook_secret(platform: Platform) -> str:
    return hmac.new(
        platform.settings.resolved_secret_key.encode(), b"vetrai-workers-webhook", hashlib.sha256
    ).hexdigest()


async def send_webhook(platform: Platform, job_id: object) -> None:
    task = platform.broker.find_task(WEBHOOK_TASK)
    if task is not None:
        await task.kiq(str(job_id), 1)


async def deliver_webhook(platform: Platform, job_id: str, attempt: int = 1) -> bool:
    """POST the finished job, signed; a failure is sent again later with backoff."""
    import httpx

    from vetrai.engine.streams import serialize_job

    settings = platform.plugin_settings("workers", WorkersSettings)
    job = await Job.get_or_none(id=job_id)
    if job is None or not job.webhook_url or job.status not in FINISHED:
        return False
    body = json.dumps({"event": "engine.job_finished", "job": serialize_job(job)}, default=str).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "VetrAI-Webhooks",
        "X-VetrAI-Event": "engine.job_finished",
        "X-VetrAI-Delivery": f"{job.id}:{attempt}",
        **signature_headers(webhook_secret(platform), body),
    }
    if not settings.webhook_allow_private:
        try:
            await ensure_public_host(job.webhook_url)
        except PrivateAddressError as exc:
            log.warning("webhook of job %s refused: %s (VETRAI_WORKERS_WEBHOOK_ALLOW_PRIVATE)", job.id, exc)
            return False
        except OSError as exc:
            log.warning("webhook of job %s: cannot resolve its host: %s", job.id, exc)
            return False
    try:
        # Checks the address it connects to: a host re-resolving to a private one is refused.
        async with guarded_client(timeout=10, allow_private=settings.webhook_allow_private) as client:
            response = await client.post(job.webhook_url, content=body, headers=headers)
        if response.status_code < 300:
            return True
        problem = f"HTTP {response.status_code}"
    except (httpx.HTTPError, PrivateAddressError, OSError) as exc:
        problem = repr(exc)
    log.warning("webhook of job %s attempt %s failed: %s", job.id, attempt, problem)
    if attempt < settings.webhook_max_attempts:
        await asyncio.sleep(min(300.0, 2 ** (attempt - 1)))
        task = platform.broker.find_task(WEBHOOK_TASK)
        if task is not None:
            await task.kiq(job_id, attempt + 1)
    return False
