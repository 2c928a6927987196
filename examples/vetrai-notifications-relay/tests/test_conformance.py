"""The VetrAI plugin conformance kit, run on the relay."""

from __future__ import annotations

from vetrai.core.conformance import PluginConformance, Resource


async def relayed_event(kit, owner) -> str:
    """A delivery exists once an event of the owner's organization is emitted."""
    async with kit.app.app_context():
        event = await kit.platform.events.emit(
            "auth.password_changed", {"user_id": owner.id}, organization_id=owner.user.organization_id
        )
    response = await owner.get("/api/v1/relay/deliveries")
    return next(item["id"] for item in (await response.get_json())["items"] if item["event_id"] == str(event.id))


class TestRelayConformance(PluginConformance):
    plugin = "relay"
    resource_list = [Resource("/api/v1/relay/deliveries/<delivery_id>", relayed_event, list="/api/v1/relay/deliveries")]
