"""HTTP: parse, authorize, call the service, serialize. Mounted at /api/v1/hello."""

from __future__ import annotations

from quart import Blueprint
from quart_schema import validate_querystring, validate_request, validate_response

from vetrai.core.auth import current_principal, require_scope
from vetrai.core.openapi import public
from vetrai.core.pagination import PageQuery
from vetrai.core.platform import current_platform
from vetrai_hello import service
from vetrai_hello.schemas import (
    HelloGreetingCreate,
    HelloGreetingOut,
    HelloGreetingPage,
    HelloGreetingQuery,
    HelloGreetingUpdate,
    HelloPing,
)
from vetrai_hello.settings import HelloSettings

blueprint = Blueprint("hello", __name__)


@blueprint.get("/ping")
@public
@validate_response(HelloPing)
async def ping() -> dict:
    """Public: the configured ping message and how many greetings this process has served."""
    platform = current_platform()
    return {
        "message": platform.plugin_settings("hello", HelloSettings).ping_message,
        "greetings_served": runtime.served if (runtime := platform.find(service.RUNTIME)) else 0,
    }


@blueprint.get("/greetings")
@require_scope("hello:read")
@validate_querystring(HelloGreetingQuery)
@validate_response(HelloGreetingPage)
async def list_greetings(query_args: HelloGreetingQuery) -> dict:
    """List your organization's greetings, newest first."""
    principal = await current_principal()
    return await service.list_greetings(principal, PageQuery(limit=query_args.limit, cursor=query_args.cursor))


@blueprint.post("/greetings")
@require_scope("hello:write")
@validate_request(HelloGreetingCreate)
@validate_response(HelloGreetingOut, 201)
async def create_greeting(data: HelloGreetingCreate) -> tuple[dict, int]:
    """Create a greeting in your organization (emits ``hello.greeting_created``)."""
    principal = await current_principal()
    return service.serialize(await service.create_greeting(principal, data.message)), 201


@blueprint.get("/greetings/<greeting_id>")
@require_scope("hello:read")
@validate_response(HelloGreetingOut)
async def get_greeting(greeting_id: str) -> dict:
    """Read one greeting (404 for another organization's)."""
    principal = await current_principal()
    current_platform().get(service.RUNTIME).served += 1
    return service.serialize(await service.get_greeting(principal, greeting_id))


@blueprint.put("/greetings/<greeting_id>")
@require_scope("hello:write")
@validate_request(HelloGreetingUpdate)
@validate_response(HelloGreetingOut)
async def update_greeting(greeting_id: str, data: HelloGreetingUpdate) -> dict:
    """Change a greeting's message (partial update)."""
    principal = await current_principal()
    return service.serialize(await service.update_greeting(principal, greeting_id, data.message))


@blueprint.delete("/greetings/<greeting_id>")
@require_scope("hello:write")
async def delete_greeting(greeting_id: str) -> tuple[str, int]:
    """Delete a greeting."""
    principal = await current_principal()
    await service.delete_greeting(principal, greeting_id)
    return "", 204
