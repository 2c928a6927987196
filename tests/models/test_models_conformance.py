"""The conformance kit on the models plugin."""

from __future__ import annotations

import uuid

from vetrai.core.conformance import PluginConformance, Resource

PROVIDER = {
    "base_url": "http://127.0.0.1:9/v1",  # nothing listens: the test call fails at once
    "api_key": "sk-conformance-000000000000",
    "default_model": "gpt-4o-mini",
}


async def _provider(kit, owner):
    response = await owner.post("/api/v1/models/providers", json={**PROVIDER, "name": f"p-{uuid.uuid4().hex[:8]}"})
    assert response.status_code == 201, await response.get_data(as_text=True)
    return str((await response.get_json())["id"])


async def _secret(kit, owner):
    body = {"name": f"s-{uuid.uuid4().hex[:8]}", "value": "value-000000000000"}
    response = await owner.post("/api/v1/secrets", json=body)
    assert response.status_code == 201, await response.get_data(as_text=True)
    return str((await response.get_json())["id"])


class TestModelsConformance(PluginConformance):
    plugin = "models"
    route_prefixes = ("/api/v1/models", "/api/v1/secrets")
    resource_list = [
        Resource(
            "/api/v1/models/providers/<provider_id>",
            _provider,
            list="/api/v1/models/providers",
            body={"default_model": "gpt-4o"},
        ),
        Resource("/api/v1/secrets/<secret_id>", _secret, list="/api/v1/secrets", body={"description": "changed"}),
    ]
