"""HTTP: what was relayed, and a retry for what failed. Mounted at /api/v1/relay."""

from __future__ import annotations

from quart import Blueprint
from quart_schema import validate_querystring, validate_response

from vetrai.core.auth import current_principal, require_scope
from vetrai.core.pagination import PageQuery
from vetrai_relay import service
from vetrai_relay.schemas import RelayDeliveryOut, RelayDeliveryPage, RelayDeliveryQuery

blueprint = Blueprint("relay", __name__)


@blueprint.get("/deliveries")
@require_scope("relay:read")
@validate_querystring(RelayDeliveryQuery)
@validate_response(RelayDeliveryPage)
async def list_deliveries(query_args: RelayDeliveryQuery) -> dict:
    """Your organization's relayed events, newest first, optionally of one status."""
    principal = await current_principal()
    page = PageQuery(limit=query_args.limit, cursor=query_args.cursor)
    return await service.list_deliveries(principal, page, query_args.status)


@blueprint.get("/deliveries/<delivery_id>")
@require_scope("relay:read")
@validate_response(RelayDeliveryOut)
async def get_delivery(delivery_id: str) -> dict:
    """One relayed event: its status, attempts and the last error."""
    principal = await current_principal()
    return service.serialize(await service.get_delivery(principal, delivery_id))


@blueprint.post("/deliveries/<delivery_id>/retry")
@require_scope("relay:write")
@validate_response(RelayDeliveryOut, 202)
async def retry_delivery(delivery_id: str) -> tuple[dict, int]:
    """Send a failed delivery again (409 unless it failed)."""
    principal = await current_principal()
    return service.serialize(await service.retry(principal, delivery_id)), 202
