from __future__ import annotations

import uuid
from typing import Any

from quart import Blueprint
from quart_schema import validate_querystring, validate_request, validate_response

from vetrai.core.audit import record_audit
from vetrai.core.auth import current_principal, require_role, require_scope
from vetrai.core.organizations import purge, service
from vetrai.core.organizations.schemas import (
    OrganizationCreate,
    OrganizationDeleteQuery,
    OrganizationListQuery,
    OrganizationOut,
    OrganizationPage,
    OrganizationUpdate,
    OrganizationUsageOut,
)
from vetrai.core.pagination import PageQuery, paginate
from vetrai.core.permissions import SUPER_ADMIN
from vetrai.core.platform import current_platform

blueprint = Blueprint("organizations", __name__)


@blueprint.post("")
@require_role(SUPER_ADMIN)
@require_scope("organizations:write")
@validate_request(OrganizationCreate)
@validate_response(OrganizationOut, 201)
async def create_organization(data: OrganizationCreate) -> tuple[dict[str, Any], int]:
    """Create an organization (super_admin)."""
    limits = data.limits.model_dump(exclude_none=True) if data.limits else None
    organization = await service.create_organization(
        data.name, slug=data.slug, plan=data.plan, limits=limits, settings=data.settings
    )
    await record_audit(
        "organization.created",
        principal=await current_principal(),
        target_type="organization",
        target_id=organization.id,
    )
    return service.serialize(organization), 201


@blueprint.get("")
@require_scope("organizations:read")
@validate_querystring(OrganizationListQuery)
@validate_response(OrganizationPage)
async def list_organizations(query_args: OrganizationListQuery) -> dict[str, Any]:
    """List organizations: all for super_admin, your own otherwise."""
    principal = await current_principal()
    queryset = service.visible_organizations(principal, query_args.include_inactive)
    return await paginate(queryset, PageQuery(limit=query_args.limit, cursor=query_args.cursor), service.serialize)


@blueprint.get("/<uuid:organization_id>")
@require_scope("organizations:read")
@validate_response(OrganizationOut)
async def get_organization(organization_id: uuid.UUID) -> dict[str, Any]:
    """Read an organization."""
    principal = await current_principal()
    return service.serialize(await service.get_organization(principal, organization_id))


@blueprint.get("/<uuid:organization_id>/usage")
@require_scope("organizations:read")
@validate_response(OrganizationUsageOut)
async def get_organization_usage(organization_id: uuid.UUID) -> dict[str, Any]:
    """What the organization stores against its plan's ``max_storage_bytes``, by plugin."""
    principal = await current_principal()
    organization = await service.get_organization(principal, organization_id)
    return await service.usage(current_platform(), organization)


@blueprint.put("/<uuid:organization_id>")
@require_scope("organizations:write")
@validate_request(OrganizationUpdate)
@validate_response(OrganizationOut)
async def update_organization(organization_id: uuid.UUID, data: OrganizationUpdate) -> dict[str, Any]:
    """Update an organization; plan, limits and is_active need super_admin."""
    principal = await current_principal()
    organization = await service.get_organization(principal, organization_id)
    changes = data.model_dump(exclude_none=True)
    if data.limits is not None:
        changes["limits"] = data.limits.model_dump(exclude_none=True)
    organization = await service.update_organization(principal, organization, changes)
    await record_audit(
        "organization.updated",
        principal=principal,
        target_type="organization",
        target_id=organization.id,
        data={"fields": sorted(changes)},
    )
    return service.serialize(organization)


@blueprint.delete("/<uuid:organization_id>")
@require_scope("organizations:write")
@validate_querystring(OrganizationDeleteQuery)
async def delete_organization(organization_id: uuid.UUID, query_args: OrganizationDeleteQuery) -> tuple[str, int]:
    """Erase an organization and all of its data (rows and files): super_admin, or its own
    org_admin with ``?confirm=<slug>``. Members are locked out at once; to keep the data, set
    ``is_active`` to false with PUT instead."""
    principal = await current_principal()
    organization = await service.get_organization(principal, organization_id)
    service.check_deletable(principal, organization, query_args.confirm)
    await record_audit(
        "organization.deleted", principal=principal, target_type="organization", target_id=organization.id
    )
    await purge.delete_organization(current_platform(), organization)
    return "", 204
