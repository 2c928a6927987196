"""A deliberately broken plugin: each flaw is one the conformance kit must catch."""

from __future__ import annotations

import time
import uuid
from typing import Any

from pydantic import BaseModel
from quart import Blueprint, request
from quart_schema import document_request, validate_request, validate_response

from vetrai.core.auth import current_principal
from vetrai.core.hooks import BlueprintSpec, Permission, PluginInfo, hookimpl
from vetrai.core.permissions import ROLES


class ThingIn(BaseModel):  # flaw: no plugin prefix on a component name
    name: str


class ThingOut(BaseModel):
    id: str
    name: str
    organization_id: str


class LeakyThingPage(BaseModel):
    items: list[ThingOut]
    next_cursor: str | None = None


def build_blueprints(things: dict[str, dict[str, Any]]) -> tuple[Blueprint, Blueprint]:
    blueprint = Blueprint("leaky", __name__)
    elsewhere = Blueprint("leaky_elsewhere", __name__)

    @blueprint.post("/things")
    @validate_request(ThingIn)
    @validate_response(ThingOut, 201)
    async def create_thing(data: ThingIn) -> tuple[dict, int]:
        """Create a thing (flaw: no scope check)."""
        principal = await current_principal()
        thing = {"id": str(uuid.uuid4()), "name": data.name, "organization_id": str(principal.organization_id)}
        things[thing["id"]] = thing
        return thing, 201

    @blueprint.get("/things")
    @validate_response(LeakyThingPage)
    async def list_things() -> dict:
        """List things (flaw: every organization's)."""
        return {"items": list(things.values()), "next_cursor": None}

    @blueprint.get("/things/<thing_id>")
    @validate_response(ThingOut)
    async def get_thing(thing_id: str) -> dict:
        """Read a thing (flaw: no tenant filter)."""
        return things[thing_id]

    @blueprint.post("/echo")
    @document_request(ThingIn)
    async def echo() -> dict:  # flaws: no docstring, unvalidated body indexed blindly (500)
        data = await request.get_json()
        return {"name": data["name"]}

    @blueprint.get("/slow")
    @validate_response(ThingOut)
    async def slow() -> dict:
        """Block the event loop (flaw: a synchronous sleep in a handler)."""
        time.sleep(0.15)
        return {"id": "slow", "name": "slow", "organization_id": ""}

    @elsewhere.get("/misplaced")
    @validate_response(ThingOut)
    async def misplaced() -> dict:
        """A non-public route outside /api/v1/leaky (flaw)."""
        return {"id": "x", "name": "x", "organization_id": ""}

    return blueprint, elsewhere


class LeakyPlugin:
    def __init__(self) -> None:
        self.things: dict[str, dict[str, Any]] = {}
        self.blueprints = build_blueprints(self.things)

    @hookimpl
    def vetrai_plugin_info(self) -> PluginInfo:
        return PluginInfo(name="leaky", version="1.0", description="deliberately broken", requires=("auth",))

    @hookimpl
    def vetrai_blueprints(self) -> list[BlueprintSpec]:
        return [
            BlueprintSpec(self.blueprints[0], "/api/v1/leaky", tags=["leaky"]),
            BlueprintSpec(self.blueprints[1], "/api/v1/elsewhere", tags=["leaky"]),
        ]

    @hookimpl
    def vetrai_permissions(self) -> list[Permission]:
        return [Permission("leaky:read", "Read things", roles=ROLES)]

    async def vetrai_startup(self, platform: Any) -> None:  # flaw: no @hookimpl, so never called
        platform.state["leaky"] = True
