"""The OpenAPI document is valid with no plugins and with every plugin, and complete."""

from __future__ import annotations

import pytest
from openapi_spec_validator import validate

from vetrai.core.app import create_app

SCHEMALESS = {"/metrics"}


@pytest.mark.parametrize("plugins", [[], None], ids=["core-only", "all-plugins"])
async def test_openapi_is_valid_and_every_route_is_documented(settings_factory, plugins):
    app = create_app(settings_factory(plugins=plugins))
    async with app.test_app() as test_app:
        client = test_app.test_client()
        document = await (await client.get("/openapi.json")).get_json()
        assert (await client.get("/docs")).status_code == 200
        assert (await client.get("/redoc")).status_code == 200
    validate(document)
    assert "bearer" in document["components"]["securitySchemes"]
    operation_ids = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            where = f"{method.upper()} {path}"
            assert operation.get("tags"), f"{where} has no tag"
            operation_ids.append(operation["operationId"])
            if path in SCHEMALESS:
                continue
            responses = operation["responses"]
            assert responses, f"{where} documents no response"
            if method in {"post", "put", "patch"} and not path.startswith("/api/v1/billing/webhooks"):
                documented = "requestBody" in operation or operation.get("parameters")
                assert documented or any(code == "204" or code == "202" for code in responses), (
                    f"{where} has no request schema"
                )
    assert len(operation_ids) == len(set(operation_ids)), "operationIds must be unique"


async def test_public_routes_are_documented_without_security(client):
    document = await (await client.get("/openapi.json")).get_json()
    assert document["paths"]["/health"]["get"]["security"] == []
    assert "security" not in document["paths"]["/api/v1/organizations"]["get"]
