"""Data lifecycle: erasing an organization, and deleting finished data past its plan's retention.

Every plugin erases what it owns through two hooks, so the core never needs to know another
plugin's tables or files:

- ``vetrai_purge_organization(platform, organization_id)``: erase every row and stored file of
  one organization. Called plugin by plugin in reverse dependency order (a plugin's data goes
  before the data it points at), the core last: it deletes what is left under the
  organization's storage prefix ``org/<id>/``, its outbox messages and audit entries, and the
  organization row (whose foreign keys cascade to anything a plugin forgot).
- ``vetrai_purge_expired(platform, organization_id, before)``: delete finished data (sent
  notifications, ended runs) created before ``before``; called by the ``core.purge_expired``
  schedule with ``before = now - retention_days`` of the organization's plan.

Deleting an organization deactivates it and writes a ``core.purge_organization`` outbox
message in one transaction, then runs the purge at once; if the purge fails half-way (a
storage outage), the outbox retries it until it completes, and every step is idempotent.
"""

from __future__ import annotations

import inspect
import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from tortoise.transactions import in_transaction

from vetrai.core import outbox
from vetrai.core.hooks import Backoff, OutboxHandler
from vetrai.core.models import AuditLog, Organization, OutboxMessage
from vetrai.core.platform import current_platform
from vetrai.core.tenancy import limits_of

if TYPE_CHECKING:
    from vetrai.core.platform import Platform

log = logging.getLogger("vetrai.lifecycle")
PURGE_KIND = "core.purge_organization"
EXPIRE_TASK = "core.purge_expired"
EXPIRE_SECONDS = 3600.0
ORGANIZATION_BATCH = 500
KEEP_DELIVERED = timedelta(days=7)
"""Delivered outbox messages are bookkeeping, not data: kept a week whatever the plan."""


def storage_prefix(organization_id: uuid.UUID) -> str:
    """Where every plugin stores an organization's files (``org/<id>/...``)."""
    return f"org/{organization_id}/"


async def delete_organization(platform: Platform, organization: Organization) -> None:
    """Deactivate at once, then erase everything; a failed erase is retried by the outbox."""
    async with in_transaction() as conn:
        organization.is_active = False  # a model save: in-process caches of its credentials drop at once
        await organization.save(using_db=conn, update_fields=["is_active"])
        message_id = await outbox.enqueue(
            PURGE_KIND, {"organization_id": str(organization.id)}, key=str(organization.id), using_db=conn, kick=False
        )
    status, _delay = await outbox.deliver_once(platform, message_id)
    if status != "done":
        log.warning("organization %s is deactivated; its erasure will be retried (%s)", organization.id, status)


async def _await(result: Any) -> Any:
    return await result if inspect.isawaitable(result) else result


async def purge_organization(platform: Platform, organization_id: uuid.UUID) -> None:
    """Every plugin's ``vetrai_purge_organization``, dependents first and the core last."""
    for name in reversed(platform.plugins.order):
        for _name, result in platform.plugins.call_each(
            "vetrai_purge_organization", only={name}, platform=platform, organization_id=organization_id
        ):
            await _await(result)
    log.info("organization %s erased", organization_id)


async def purge_core(platform: Platform, organization_id: uuid.UUID) -> None:
    """The core's part: leftover files under the prefix, outbox messages, audit entries, the row."""
    await platform.storage.delete_prefix(storage_prefix(organization_id))
    await OutboxMessage.filter(organization_id=organization_id).delete()
    await AuditLog.filter(organization_id=organization_id).delete()
    await Organization.filter(id=organization_id).delete()


async def handle_purge(message: OutboxMessage) -> None:
    """Outbox handler of ``core.purge_organization``."""
    await purge_organization(current_platform(), uuid.UUID(message.payload["organization_id"]))


def outbox_handlers() -> list[OutboxHandler]:
    return [OutboxHandler(PURGE_KIND, handle_purge, max_attempts=20, backoff=Backoff(30, 3600), lease_seconds=3600)]


async def purge_expired(platform: Platform | None = None, at: datetime | None = None) -> int:
    """Each organization's finished data older than its plan's ``retention_days``; rows deleted."""
    platform = platform or current_platform()
    at = at or datetime.now(UTC)
    deleted = 0
    last_id: uuid.UUID | None = None
    while True:
        queryset = Organization.all().order_by("id").limit(ORGANIZATION_BATCH)
        if last_id is not None:
            queryset = queryset.filter(id__gt=last_id)
        organizations = list(await queryset)
        if not organizations:
            break
        for organization in organizations:
            days = limits_of(organization)["retention_days"]
            if days <= 0:
                continue  # 0 keeps everything
            before = at - timedelta(days=days)
            for name, result in platform.plugins.call_each(
                "vetrai_purge_expired", platform=platform, organization_id=organization.id, before=before
            ):
                try:
                    deleted += int(await _await(result) or 0)
                except Exception:
                    log.exception("%s could not purge expired data of organization %s", name, organization.id)
        last_id = organizations[-1].id
    deleted += await OutboxMessage.filter(status=outbox.DELIVERED, delivered_at__lt=at - KEEP_DELIVERED).delete()
    if deleted:
        log.info("deleted %s expired rows", deleted)
    return deleted


async def expire_core(organization_id: uuid.UUID, before: datetime) -> int:
    """The core's part of retention: delivered and failed outbox messages of the organization."""
    return await OutboxMessage.filter(
        organization_id=organization_id,
        status__in=[outbox.DELIVERED, outbox.FAILED],
        created_at__lt=before,
    ).delete()


async def purge_expired_task() -> int:
    """taskiq task ``core.purge_expired`` (scheduled hourly)."""
    return await purge_expired()
