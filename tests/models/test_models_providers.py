"""Providers and secrets API: CRUD, masking, one default, roles, and tenant isolation."""

from __future__ import annotations

from .conftest import API_KEY


async def test_provider_crud_masks_the_key_and_headers(client, make_user, add_provider, fake_openai):
    admin = await make_user(role="org_admin")
    created = await add_provider(admin, headers={"X-Org-Token": "header-secret-9876", "X-Tag": "short"})
    assert created["api_key_last4"] == API_KEY[-4:]
    assert API_KEY not in str(created)
    assert created["headers"] == {"X-Org-Token": "****9876", "X-Tag": "****"}
    assert created["is_default"] is True and created["kind"] == "openai"
    assert set(created) >= {"id", "name", "base_url", "models", "default_model", "created_at", "updated_at"}

    listed = await (await client.get("/api/v1/models/providers", headers=admin.headers)).get_json()
    assert [item["id"] for item in listed["items"]] == [created["id"]] and listed["next_cursor"] is None
    one = await (await client.get(f"/api/v1/models/providers/{created['id']}", headers=admin.headers)).get_json()
    assert one == created

    response = await client.put(
        f"/api/v1/models/providers/{created['id']}",
        json={"default_model": "fake-large", "api_key": "sk-new-key-000011112222"},
        headers=admin.headers,
    )
    updated = await response.get_json()
    assert response.status_code == 200, updated
    assert updated["default_model"] == "fake-large" and updated["api_key_last4"] == "2222"
    assert updated["name"] == "fake" and updated["headers"] == created["headers"]  # not sent: kept

    response = await client.delete(f"/api/v1/models/providers/{created['id']}", headers=admin.headers)
    assert response.status_code == 204
    response = await client.get(f"/api/v1/models/providers/{created['id']}", headers=admin.headers)
    assert response.status_code == 404


async def test_one_default_provider_per_organization_and_duplicate_names(client, make_user, add_provider):
    admin = await make_user(role="org_admin")
    first = await add_provider(admin, name="first")
    second = await add_provider(admin, name="second", is_default=True)
    third = await add_provider(admin, name="third")
    assert first["is_default"] and second["is_default"] and not third["is_default"]
    listed = (await (await client.get("/api/v1/models/providers", headers=admin.headers)).get_json())["items"]
    assert [item["name"] for item in listed if item["is_default"]] == ["second"]
    response = await client.put(
        f"/api/v1/models/providers/{third['id']}", json={"is_default": True}, headers=admin.headers
    )
    assert response.status_code == 200
    listed = (await (await client.get("/api/v1/models/providers", headers=admin.headers)).get_json())["items"]
    assert [item["name"] for item in listed if item["is_default"]] == ["third"]
    duplicate = await add_provider(admin, name="first", expect=409)
    assert duplicate["status"] == 409


async def test_bad_provider_input_is_a_clear_422(client, make_user, add_provider):
    admin = await make_user(role="org_admin")
    for fields in (
        {"base_url": "ftp://example.com"},
        {"kind": "cohere"},
        {"default_model": "not-listed"},
        {"headers": {"Bad Header": "x"}},
        {"api_key": ""},
    ):
        problem = await add_provider(admin, expect=422, **fields)
        assert problem["status"] == 422, fields
    listed = await (await client.get("/api/v1/models/providers", headers=admin.headers)).get_json()
    assert listed["items"] == []  # nothing half-written


async def test_private_base_urls_are_refused_unless_allowed(client, make_user, add_provider, monkeypatch, platform):
    admin = await make_user(role="org_admin")
    platform.state["models"].settings.allow_private_base_urls = False
    problem = await add_provider(admin, expect=422)
    assert "private" in problem["errors"][0]["msg"]


async def test_members_read_and_only_admins_write(client, make_user, add_provider):
    admin = await make_user(role="org_admin")
    member = await make_user(role="user", organization=admin.organization)
    created = await add_provider(admin)
    response = await client.get(f"/api/v1/models/providers/{created['id']}", headers=member.headers)
    assert response.status_code == 200
    for method, path, body in (
        ("post", "/api/v1/models/providers", {"name": "x", "api_key": "k" * 20, "default_model": "m"}),
        ("put", f"/api/v1/models/providers/{created['id']}", {"name": "y"}),
        ("delete", f"/api/v1/models/providers/{created['id']}", None),
        ("post", f"/api/v1/models/providers/{created['id']}/test", None),
        ("post", "/api/v1/secrets", {"name": "s", "value": "v" * 20}),
    ):
        response = await getattr(client, method)(path, json=body, headers=member.headers)
        assert response.status_code == 403, (method, path)


async def test_another_organizations_provider_and_secret_are_404(client, make_user, add_provider):
    admin = await make_user(role="org_admin")
    outsider = await make_user(role="org_admin")
    created = await add_provider(admin)
    secret = await (
        await client.post("/api/v1/secrets", json={"name": "token", "value": "tok-123456789012"}, headers=admin.headers)
    ).get_json()
    for method, path, body in (
        ("get", f"/api/v1/models/providers/{created['id']}", None),
        ("put", f"/api/v1/models/providers/{created['id']}", {"name": "mine"}),
        ("delete", f"/api/v1/models/providers/{created['id']}", None),
        ("post", f"/api/v1/models/providers/{created['id']}/test", None),
        ("get", f"/api/v1/secrets/{secret['id']}", None),
        ("put", f"/api/v1/secrets/{secret['id']}", {"value": "stolen-value-0000"}),
        ("delete", f"/api/v1/secrets/{secret['id']}", None),
    ):
        response = await getattr(client, method)(path, json=body, headers=outsider.headers)
        assert response.status_code == 404, (method, path)
    listed = await (await client.get("/api/v1/models/providers", headers=outsider.headers)).get_json()
    assert listed["items"] == []


async def test_secrets_crud_shows_last4_only(client, make_user):
    admin = await make_user(role="org_admin")
    response = await client.post(
        "/api/v1/secrets",
        json={"name": "crm_token", "value": "crm-secret-value-abcd", "description": "CRM"},
        headers=admin.headers,
    )
    created = await response.get_json()
    assert response.status_code == 201, created
    assert created["value_last4"] == "abcd" and "crm-secret-value" not in str(created)
    response = await client.put(
        f"/api/v1/secrets/{created['id']}", json={"value": "other-value-wxyz1"}, headers=admin.headers
    )
    assert (await response.get_json())["value_last4"] == "xyz1"
    response = await client.post(
        "/api/v1/secrets", json={"name": "crm_token", "value": "x" * 12}, headers=admin.headers
    )
    assert response.status_code == 409
    listed = await (await client.get("/api/v1/secrets", headers=admin.headers)).get_json()
    assert [item["name"] for item in listed["items"]] == ["crm_token"]
    assert (await client.delete(f"/api/v1/secrets/{created['id']}", headers=admin.headers)).status_code == 204
    assert (await client.get(f"/api/v1/secrets/{created['id']}", headers=admin.headers)).status_code == 404


async def test_provider_test_call_succeeds_and_names_the_provider_on_401(client, make_user, add_provider, fake_openai):
    admin = await make_user(role="org_admin")
    good = await add_provider(admin)
    response = await client.post(f"/api/v1/models/providers/{good['id']}/test", headers=admin.headers)
    result = await response.get_json()
    assert response.status_code == 200 and result["ok"] is True and result["model"] == "fake-small"
    assert fake_openai.requests[-1]["headers"]["Authorization"] == f"Bearer {API_KEY}"

    bad_key = "sk-bad-key-0123456789"
    bad = await add_provider(admin, name="badkey", api_key=bad_key)
    result = await (await client.post(f"/api/v1/models/providers/{bad['id']}/test", headers=admin.headers)).get_json()
    assert result["ok"] is False
    assert "'badkey'" in result["error"] and "401" in result["error"]
    assert bad_key not in result["error"] and bad_key[:6] not in result["error"] and "6789" not in result["error"]


async def test_put_null_clears_only_nullable_fields(client, make_user, add_provider):
    admin = await make_user(role="org_admin")
    created = await add_provider(admin, headers={"X-A": "value-000000000000"})
    response = await client.put(
        f"/api/v1/models/providers/{created['id']}",
        json={"name": None, "api_key": None, "base_url": None, "headers": None},
        headers=admin.headers,
    )
    updated = await response.get_json()
    assert response.status_code == 200, updated
    assert updated["name"] == "fake" and updated["api_key_last4"] == created["api_key_last4"]
    assert updated["base_url"] is None and updated["headers"] == {}
