"""Every error status comes back as RFC 9457 problem+json without a stack trace."""

from __future__ import annotations

import pytest
from quart import Blueprint
from tortoise.exceptions import IntegrityError, ValidationError

from vetrai.core.app import create_app
from vetrai.core.errors import rate_limited
from vetrai.core.hooks import BlueprintSpec, PluginInfo, hookimpl
from vetrai.core.openapi import public

boom = Blueprint("boom", __name__)


@boom.get("/crash")
@public
async def crash() -> str:
    raise RuntimeError("secret internals /etc/passwd")


@boom.get("/slow-down")
@public
async def slow_down() -> str:
    raise rate_limited(7)


@boom.get("/duplicate")
@public
async def duplicate() -> str:
    raise IntegrityError("duplicate key value violates unique constraint")


@boom.get("/refused-value")
@public
async def refused_value() -> str:
    raise ValidationError("name: Value must not be None")


@boom.post("/ignores-its-body")
@public
async def ignores_its_body() -> tuple[str, int]:
    return "", 204


class Boom:
    @hookimpl
    def vetrai_plugin_info(self) -> PluginInfo:
        return PluginInfo(name="boom", version="1")

    @hookimpl
    def vetrai_blueprints(self) -> list[BlueprintSpec]:
        return [BlueprintSpec(boom, "/api/v1/boom")]


@pytest.fixture
async def boom_client(settings_factory):
    app = create_app(settings_factory(plugins=["auth"], max_request_bytes=1024), extra_plugins=[Boom()])
    async with app.test_app() as test_app:
        yield test_app.test_client()


async def assert_problem(response, status: int) -> dict:
    assert response.status_code == status
    assert response.headers["Content-Type"] == "application/problem+json"
    body = await response.get_json()
    assert body["status"] == status
    assert {"type", "title", "status", "detail"} <= set(body)
    assert "Traceback" not in str(body)
    return body


async def test_a_database_uniqueness_race_is_409(boom_client):
    await assert_problem(await boom_client.get("/api/v1/boom/duplicate"), 409)


async def test_a_value_the_model_refuses_is_422(boom_client):
    body = await assert_problem(await boom_client.get("/api/v1/boom/refused-value"), 422)
    assert body["errors"][0]["msg"] == "name: Value must not be None"


async def test_unknown_route_is_404(boom_client):
    await assert_problem(await boom_client.get("/api/v1/nothing-here"), 404)


async def test_wrong_method_is_405_with_allow(boom_client):
    response = await boom_client.delete("/health")
    await assert_problem(response, 405)
    assert "GET" in response.headers["Allow"]


async def test_unexpected_exception_is_500_without_details(boom_client):
    body = await assert_problem(await boom_client.get("/api/v1/boom/crash"), 500)
    assert "passwd" not in body["detail"]


async def test_rate_limit_is_429_with_retry_after(boom_client):
    response = await boom_client.get("/api/v1/boom/slow-down")
    await assert_problem(response, 429)
    assert response.headers["Retry-After"] == "7"


async def test_missing_credentials_are_401_with_challenge(boom_client):
    response = await boom_client.get("/api/v1/organizations")
    await assert_problem(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


async def test_garbage_token_is_401(boom_client):
    response = await boom_client.get("/api/v1/organizations", headers={"Authorization": "Bearer nonsense"})
    await assert_problem(response, 401)


async def test_oversized_body_is_413(boom_client):
    response = await boom_client.post("/api/v1/login", data="x" * 4096, headers={"Content-Type": "application/json"})
    await assert_problem(response, 413)


async def test_declared_oversized_body_is_413_even_where_the_route_ignores_bodies(boom_client):
    path = "/api/v1/boom/ignores-its-body"
    assert (await boom_client.post(path, data="x" * 1024, headers={"Content-Length": "1024"})).status_code == 204
    response = await boom_client.post(path, data="x" * 1025, headers={"Content-Length": "1025"})
    await assert_problem(response, 413)


async def test_malformed_json_is_400(client, make_user):
    root = await make_user("super_admin")
    response = await client.post(
        "/api/v1/organizations", data="{not json", headers={**root.headers, "Content-Type": "application/json"}
    )
    await assert_problem(response, 400)


async def test_a_body_that_is_not_utf8_is_400(client, make_user):
    root = await make_user("super_admin")
    response = await client.post(
        "/api/v1/organizations", data=b"\xd2\x82{", headers={**root.headers, "Content-Type": "application/json"}
    )
    await assert_problem(response, 400)


async def test_validation_error_is_422_with_field_errors(client, make_user):
    root = await make_user("super_admin")
    response = await client.post("/api/v1/organizations", json={"name": "", "slug": "Bad Slug!"}, headers=root.headers)
    body = await assert_problem(response, 422)
    fields = {tuple(error["loc"])[-1] for error in body["errors"]}
    assert {"name", "slug"} <= fields


async def test_forbidden_is_403(client, make_user):
    member = await make_user("user")
    response = await client.post("/api/v1/organizations", json={"name": "Nope"}, headers=member.headers)
    await assert_problem(response, 403)


async def test_every_response_has_a_request_id(client):
    response = await client.get("/health", headers={"X-Request-ID": "trace-me"})
    assert response.headers["X-Request-ID"] == "trace-me"
    generated = await client.get("/health")
    assert len(generated.headers["X-Request-ID"]) == 32
