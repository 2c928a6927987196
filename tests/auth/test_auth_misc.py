"""Backends, races, housekeeping, API-key callers and the lockout expiring."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from vetrai.core.auth import Principal, bearer_token
from vetrai.core.hooks import PluginInfo, hookimpl

from .conftest import PASSWORD, bearer, create_member, login


async def test_lockout_state_lives_in_redis_when_configured(platform):
    from vetrai.plugins.auth.lockout import MemoryLimiter, RedisLimiter

    limiter = platform.state["auth"].limiter
    expected = RedisLimiter if platform.redis is not None else MemoryLimiter
    assert isinstance(limiter, expected)


async def test_lockout_expires(custom_app):
    test_app = await custom_app({"lockout_account_failures": 2, "lockout_seconds": 1})
    client = test_app.test_client()
    actor = await create_member(test_app)
    for _ in range(2):
        await login(client, actor.email, "guess guess guess")
    assert (await login(client, actor.email)).status_code == 429
    await asyncio.sleep(1.2)
    assert (await login(client, actor.email)).status_code == 200


async def test_concurrent_refreshes_of_one_token_get_one_pair(client, member):
    actor = await member()
    responses = await asyncio.gather(
        *(client.post("/api/v1/refresh", json={"refresh_token": actor.tokens["refresh_token"]}) for _ in range(3))
    )
    assert [response.status_code for response in responses] == [200, 200, 200]
    pairs = [await response.get_json() for response in responses]
    assert pairs[0] == pairs[1] == pairs[2]
    assert (await client.post("/api/v1/refresh", json={"refresh_token": pairs[0]["refresh_token"]})).status_code == 200


async def test_purge_deletes_only_expired_records(app, member):
    from vetrai.plugins.auth.models import AccessToken, RevokedJti, Session
    from vetrai.plugins.auth.tasks import purge_expired

    live = await member(token_format="opaque")
    stale = await member(token_format="opaque")
    past = datetime.now(UTC) - timedelta(days=40)
    async with app.app.app_context():
        await AccessToken.filter(user_id=stale.user.id).update(expires_at=past)
        await Session.filter(user_id=stale.user.id).update(expires_at=past)
        await RevokedJti.create(jti="old", expires_at=past)
        await RevokedJti.create(jti="new", expires_at=datetime.now(UTC) + timedelta(minutes=5))
        counts = await purge_expired()
        assert counts["access_tokens"] >= 1 and counts["revoked_jtis"] >= 1 and counts["sessions"] >= 1
        assert await AccessToken.filter(user_id=live.user.id).count() == 1
        assert not await AccessToken.filter(user_id=stale.user.id).exists()
        assert await Session.filter(user_id=live.user.id).count() == 1
        assert not await Session.filter(user_id=stale.user.id).exists()
        assert [row.jti for row in await RevokedJti.all()] == ["new"]


class FakeApiKeys:
    """Stands in for the keys plugin (a separate helper's work): ``vk_`` tokens become api_key principals."""

    def __init__(self) -> None:
        self.keys: dict[str, Principal] = {}

    @hookimpl
    def vetrai_plugin_info(self) -> PluginInfo:
        return PluginInfo(name="fake_keys", version="0")

    @hookimpl
    async def vetrai_authenticate(self, request):
        token = bearer_token()
        return self.keys.get(token or "")


async def test_api_keys_are_limited_by_scope_and_cannot_manage_sessions(custom_app):
    fake = FakeApiKeys()
    test_app = await custom_app(extra_plugins=(fake,))
    client = test_app.test_client()
    admin = await create_member(test_app, "org_admin")
    fake.keys["vk_readonly"] = Principal(
        admin.user.id, admin.organization.id, "org_admin", frozenset({"auth:read"}), kind="api_key", credential_id="k1"
    )
    headers = bearer("vk_readonly")
    assert (await client.get("/api/v1/users", headers=headers)).status_code == 200
    denied = await client.post("/api/v1/users", json={"email": "k@example.com", "password": PASSWORD}, headers=headers)
    assert denied.status_code == 403 and (await denied.get_json())["type"].endswith("insufficient-scope")
    assert (await client.get("/api/v1/audit-logs", headers=headers)).status_code == 403
    assert (await client.get("/api/v1/me", headers=headers)).status_code == 200
    for method, path, body in (
        ("post", "/api/v1/change-password", {"current_password": PASSWORD, "new_password": "something longer"}),
        ("get", "/api/v1/me/sessions", None),
        ("post", "/api/v1/logout", None),
        ("put", "/api/v1/me", {"first_name": "Key"}),
    ):
        response = await getattr(client, method)(path, json=body, headers=headers)
        assert response.status_code == 403, path


async def test_openapi_documents_every_auth_route(client):
    spec = await (await client.get("/openapi.json")).get_json()
    for path in (
        "/api/v1/register",
        "/api/v1/login",
        "/api/v1/refresh",
        "/api/v1/logout",
        "/api/v1/me",
        "/api/v1/change-password",
        "/api/v1/me/sessions",
        "/api/v1/me/sessions/{session_id}",
        "/api/v1/users",
        "/api/v1/users/{user_id}",
        "/api/v1/password-reset",
        "/api/v1/password-reset/confirm",
        "/api/v1/verify-email",
        "/api/v1/verify-email/resend",
        "/api/v1/audit-logs",
        "/api/v1/revoke",
        "/api/v1/introspect",
        "/.well-known/jwks.json",
        "/.well-known/openid-configuration",
    ):
        assert path in spec["paths"], path
    assert "requestBody" in spec["paths"]["/api/v1/login"]["post"]
    assert spec["paths"]["/api/v1/revoke"]["post"]["security"] == []


def test_production_refuses_to_start_without_configured_jwt_keys(tmp_path):
    import json

    import pytest

    from vetrai.core.config import Settings
    from vetrai.core.errors import ConfigurationError
    from vetrai.plugins.auth.jwt import new_private_jwk
    from vetrai.plugins.auth.service import build_runtime
    from vetrai.plugins.auth.settings import AuthSettings

    class StubPlatform:
        def __init__(self, auth: AuthSettings) -> None:
            self.settings = Settings(env="production", secret_key="s" * 48, data_dir=tmp_path)
            self.redis = None
            self._auth = auth

        def plugin_settings(self, name, expected):
            return self._auth

    with pytest.raises(ConfigurationError, match="VETRAI_AUTH_JWT_PRIVATE_KEYS"):
        build_runtime(StubPlatform(AuthSettings()))
    configured = AuthSettings(jwt_private_keys=json.dumps({"keys": [new_private_jwk()]}))
    assert build_runtime(StubPlatform(configured)).signer.keys
    assert not (tmp_path / "secrets" / "jwks.json").exists()
