"""Organizations (the tenants): creation with unique slugs, updates, deactivation."""

from __future__ import annotations

import re
import secrets
import uuid
from typing import TYPE_CHECKING, Any

from tortoise.exceptions import IntegrityError
from tortoise.queryset import QuerySet

from vetrai.core.auth import Principal
from vetrai.core.errors import conflict, forbidden, not_found
from vetrai.core.models import Organization
from vetrai.core.tenancy import limits_of, storage_usage

if TYPE_CHECKING:
    from vetrai.core.platform import Platform

SUPER_ADMIN_FIELDS = ("plan", "limits", "is_active")


def slugify(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:60].strip("-")
    return slug or "org"


async def create_organization(
    name: str,
    *,
    slug: str | None = None,
    plan: str = "free",
    limits: dict[str, int] | None = None,
    settings: dict[str, Any] | None = None,
) -> Organization:
    """Create a tenant; an explicit slug that is taken is a 409, a derived one gets a suffix."""
    fields: dict[str, Any] = {"name": name, "plan": plan, "limits": limits or {}, "settings": settings or {}}
    if slug is not None:
        try:
            return await Organization.create(slug=slug, **fields)
        except IntegrityError:
            raise conflict(f"an organization with slug {slug!r} already exists") from None
    base = slugify(name)
    candidate = base
    for _ in range(8):
        if not await Organization.filter(slug=candidate).exists():
            try:
                return await Organization.create(slug=candidate, **fields)
            except IntegrityError:
                pass
        candidate = f"{base}-{secrets.token_hex(3)}"
    raise conflict("could not allocate a unique organization slug")


def visible_organizations(principal: Principal, include_inactive: bool = False) -> QuerySet[Organization]:
    if principal.is_super_admin:
        return Organization.all() if include_inactive else Organization.filter(is_active=True)
    return Organization.filter(id=principal.organization_id, is_active=True)


async def get_organization(principal: Principal, organization_id: uuid.UUID) -> Organization:
    """Own active organization, or any for super_admin; everything else is a 404."""
    organization = await Organization.get_or_none(id=organization_id)
    if organization is None:
        raise not_found("organization")
    if principal.is_super_admin:
        return organization
    if organization.id != principal.organization_id or not organization.is_active:
        raise not_found("organization")
    return organization


async def update_organization(
    principal: Principal, organization: Organization, changes: dict[str, Any]
) -> Organization:
    restricted = [field for field in SUPER_ADMIN_FIELDS if field in changes]
    if restricted and not principal.is_super_admin:
        raise forbidden(f"only a super_admin may change {', '.join(restricted)}")
    if not principal.is_admin:
        raise forbidden("only an org_admin may change the organization")
    if "limits" in changes:
        changes["limits"] = {**organization.limits, **{k: v for k, v in changes["limits"].items() if v is not None}}
    for field, value in changes.items():
        setattr(organization, field, value)
    await organization.save()
    return organization


def check_deletable(principal: Principal, organization: Organization, confirm: str | None) -> None:
    """A super_admin may erase any organization; its own org_admin only by confirming its slug."""
    if principal.is_super_admin:
        return
    if not principal.is_admin:
        raise forbidden("only a super_admin or the organization's org_admin may delete it")
    if confirm != organization.slug:
        raise forbidden("deleting erases all of the organization's data: confirm with ?confirm=<its slug>")


def serialize(organization: Organization) -> dict[str, Any]:
    return {
        "id": organization.id,
        "name": organization.name,
        "slug": organization.slug,
        "plan": organization.plan,
        "limits": limits_of(organization),
        "settings": organization.settings,
        "is_active": organization.is_active,
        "created_at": organization.created_at,
        "updated_at": organization.updated_at,
    }


async def usage(platform: Platform, organization: Organization) -> dict[str, Any]:
    """Stored bytes against ``max_storage_bytes``: the very sum the quota checks refuse by."""
    by_plugin = await storage_usage(platform, organization.id)
    return {
        "storage_bytes": sum(by_plugin.values()),
        "storage_bytes_by_plugin": by_plugin,
        "max_storage_bytes": limits_of(organization)["max_storage_bytes"],
    }
