from __future__ import annotations

from quart import Blueprint, Response, g, request
from quart_schema import document_request, validate_querystring, validate_request, validate_response

from vetrai.core.auth import Principal, bearer_token, current_principal, require_auth, require_scope
from vetrai.core.pagination import PageQuery, paginate
from vetrai.core.platform import current_platform
from vetrai.core.requests import optional_body
from vetrai.plugins.keys import service
from vetrai.plugins.keys.schemas import (
    KeysKeyCreate,
    KeysKeyCreated,
    KeysKeyListQuery,
    KeysKeyOut,
    KeysKeyPage,
    KeysKeyUpdate,
    KeysRotate,
    KeysScopeList,
    KeysUsageOut,
    KeysUsageQuery,
)

blueprint = Blueprint("keys", __name__)


async def authenticate() -> Principal | None:
    """The request side of the authenticate hook: remembers the key and its limit on ``g``."""
    token = bearer_token()
    if not token:
        return None
    result = await service.authenticate(token)
    if result is None:
        return None
    principal, key_request = result
    g.keys_request = key_request
    if not key_request.decision.allowed:
        raise service.over_limit(key_request.decision)
    return principal


@blueprint.after_app_request
async def count_key_request(response: Response) -> Response:
    """Rate-limit headers and one usage count on every key-authenticated response, app-wide."""
    key_request = g.get("keys_request")
    if key_request is None:
        return response
    route = request.url_rule.rule if request.url_rule else "unmatched"
    service.runtime().usage.add(
        key_request.key_id, key_request.organization_id, request.method, route, response.status_code
    )
    response.headers.extend(service.rate_limit_headers(key_request.decision))
    return response


@blueprint.get("/scopes")
@require_auth
@validate_response(KeysScopeList)
async def list_scopes() -> dict:
    """Every scope the enabled plugins define; a key may be given those its creator holds."""
    return {"items": service.available_scopes(current_platform())}


@blueprint.post("")
@require_scope("keys:write")
@validate_request(KeysKeyCreate)
@validate_response(KeysKeyCreated, 201)
async def create_key(data: KeysKeyCreate) -> tuple[KeysKeyCreated, int]:
    """Create a key in your organization; the full key is in this response only."""
    principal = await current_principal()
    key, secret = await service.create_key(
        principal, data.name, data.scopes, data.expires_at, data.rate_limit.model_dump() if data.rate_limit else None
    )
    return KeysKeyCreated.model_validate({**KeysKeyOut.model_validate(key).model_dump(), "key": secret}), 201


@blueprint.get("")
@require_scope("keys:read")
@validate_querystring(KeysKeyListQuery)
@validate_response(KeysKeyPage)
async def list_keys(query_args: KeysKeyListQuery) -> dict:
    """The organization's keys for admins, your own keys otherwise (never the secrets)."""
    principal = await current_principal()
    page = PageQuery(limit=query_args.limit, cursor=query_args.cursor)
    return await paginate(service.visible_keys(principal), page, KeysKeyOut)


@blueprint.get("/<key_id>")
@require_scope("keys:read")
@validate_response(KeysKeyOut)
async def get_key(key_id: str) -> KeysKeyOut:
    """Read a key (no secret)."""
    return KeysKeyOut.model_validate(await service.get_key(await current_principal(), key_id))


@blueprint.put("/<key_id>")
@require_scope("keys:write")
@validate_request(KeysKeyUpdate)
@validate_response(KeysKeyOut)
async def update_key(key_id: str, data: KeysKeyUpdate) -> KeysKeyOut:
    """Change name, scopes, rate limit, expiry or is_active; effective at once on every server."""
    changes = {name: getattr(data, name) for name in data.model_fields_set}
    if "rate_limit" in changes and data.rate_limit is not None:
        changes["rate_limit"] = data.rate_limit.model_dump()
    key = await service.update_key(await current_principal(), key_id, changes)
    return KeysKeyOut.model_validate(key)


@blueprint.delete("/<key_id>")
@require_scope("keys:write")
async def revoke_key(key_id: str) -> tuple[str, int]:
    """Revoke a key: refused from the next request on, on every server."""
    await service.revoke_key(await current_principal(), key_id)
    return "", 204


@blueprint.post("/<key_id>/rotate")
@require_scope("keys:write")
@document_request(KeysRotate)
@validate_response(KeysKeyCreated, 201)
async def rotate_key(key_id: str) -> tuple[KeysKeyCreated, int]:
    """Issue a replacement key; the old one works for ``grace_seconds`` more (body optional)."""
    data = await optional_body(KeysRotate)
    key, secret = await service.rotate_key(await current_principal(), key_id, data.grace_seconds)
    return KeysKeyCreated.model_validate({**KeysKeyOut.model_validate(key).model_dump(), "key": secret}), 201


@blueprint.get("/<key_id>/usage")
@require_scope("keys:read")
@validate_querystring(KeysUsageQuery)
@validate_response(KeysUsageOut)
async def key_usage(key_id: str, query_args: KeysUsageQuery) -> dict:
    """Requests per day and per route between ``from`` and ``to`` (flushed every few seconds)."""
    return await service.key_usage(await current_principal(), key_id, query_args.from_, query_args.to)
