"""Tenant isolation and plan quotas: the one place a query learns its organization.

Routes never write ``organization_id=...`` by hand: ``scoped`` filters by the principal's
organization (super_admin sees all), and ``get_scoped`` turns both "missing" and "another
organization's" into the same 404, so existence never leaks across tenants.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any, TypeVar

from tortoise.expressions import Q
from tortoise.models import Model
from tortoise.queryset import QuerySet

from vetrai.core.auth import Principal
from vetrai.core.errors import not_found, quota_exceeded
from vetrai.core.limits import DEFAULT_LIMITS, LIMIT_NAMES
from vetrai.core.models import Organization

if TYPE_CHECKING:
    from vetrai.core.platform import Platform

M = TypeVar("M", bound=Model)


def scoped(model: type[M], principal: Principal, *, with_global: bool = False, **filters: Any) -> QuerySet[M]:
    """``model``'s rows visible to ``principal``: its organization's, or all for super_admin.

    ``with_global`` adds the rows of no organization (shipped defaults such as package
    workflow templates and default notification templates) for everyone.
    """
    queryset = model.filter(**filters)
    if principal.is_super_admin:
        return queryset
    if with_global:
        return queryset.filter(Q(organization_id=principal.organization_id) | Q(organization_id=None))
    return queryset.filter(organization_id=principal.organization_id)


async def get_scoped(model: type[M], principal: Principal, object_id: uuid.UUID | str, **filters: Any) -> M:
    """One visible row by id, or a 404 problem (also for malformed ids)."""
    try:
        key = uuid.UUID(str(object_id))
    except ValueError:
        raise not_found(model.__name__.lower()) from None
    row = await scoped(model, principal, **filters).get_or_none(id=key)
    if row is None:
        raise not_found(model.__name__.lower())
    return row


def limits_of(organization: Organization) -> dict[str, int]:
    return {**DEFAULT_LIMITS, **(organization.limits or {})}


async def ensure_quota(organization: Organization | uuid.UUID, limit: str, current: int, adding: int = 1) -> None:
    """Raise the 403 quota-exceeded problem when ``current + adding`` would pass ``limit``."""
    if limit not in LIMIT_NAMES:
        raise ValueError(f"unknown limit {limit!r}")
    if not isinstance(organization, Organization):
        organization = await Organization.get(id=organization)
    maximum = limits_of(organization)[limit]
    if current + adding > maximum:
        raise quota_exceeded(
            f"{limit} of the {organization.plan!r} plan is {maximum}; upgrade the plan to add more",
            limit=limit,
            maximum=maximum,
            current=current,
        )


async def storage_usage(platform: Platform, organization_id: uuid.UUID) -> dict[str, int]:
    """Bytes each plugin stores for the organization (its ``vetrai_storage_used``), by plugin:
    the breakdown shown with the organization's usage."""
    results = await platform.plugins.acall_each(
        "vetrai_storage_used", platform=platform, organization_id=organization_id
    )
    return {name: int(used or 0) for name, used in results}


async def storage_used(platform: Platform, organization_id: uuid.UUID) -> int:
    """What counts toward ``max_storage_bytes``: files, checkpoints and events of every plugin,
    so no plugin's data escapes the quota the others enforce."""
    return sum((await storage_usage(platform, organization_id)).values())


async def ensure_storage(platform: Platform, organization: Organization | uuid.UUID, adding: int = 1) -> int:
    """Refuse (403 quota-exceeded, ``limit: max_storage_bytes``) what would store ``adding``
    more bytes past the organization's ``max_storage_bytes``; returns the bytes stored now.
    The default of one byte refuses new work once the organization is at its limit."""
    if not isinstance(organization, Organization):
        organization = await Organization.get(id=organization)
    used = await storage_used(platform, organization.id)
    await ensure_quota(organization, "max_storage_bytes", used, adding)
    return used
