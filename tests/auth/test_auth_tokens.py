"""Access tokens: every forged, expired or confused token is a 401; JWKS and discovery verify ours."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
import uuid

from joserfc import jwt
from joserfc.jwk import ECKey, KeySet

from .conftest import bearer, create_member


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _claims(member, **overrides):
    now = int(time.time())
    claims = {
        "iss": "https://app.example.com",
        "aud": "vetrai",
        "sub": member.id,
        "org": str(member.organization.id),
        "role": "super_admin",
        "jti": uuid.uuid4().hex,
        "iat": now,
        "exp": now + 600,
    }
    claims.update(overrides)
    return claims


async def _status(client, token: str) -> int:
    response = await client.get("/api/v1/me", headers=bearer(token))
    if response.status_code == 401:
        body = await response.get_json()
        assert response.content_type == "application/problem+json"
        assert body["status"] == 401
        assert "Bearer" in response.headers["WWW-Authenticate"]
    return response.status_code


async def test_valid_jwt_has_pinned_header_and_all_claims(client, member, platform):
    actor = await member()
    token = actor.tokens["access_token"]
    header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    assert header["alg"] == "ES256" and header["kid"]
    response = await client.get("/.well-known/jwks.json")
    assert response.status_code == 200
    keys = KeySet.import_key_set(await response.get_json())
    claims = jwt.decode(token, keys, algorithms=["ES256"]).claims
    assert {"iss", "aud", "exp", "iat", "jti", "sub", "org", "role", "sid"} <= set(claims)
    assert claims["iss"] == "https://app.example.com" and claims["aud"] == "vetrai"
    assert claims["sub"] == actor.id and claims["role"] == "user"
    assert await _status(client, token) == 200


async def test_jwks_exposes_public_keys_only_and_discovery_points_at_it(client):
    jwks = await (await client.get("/.well-known/jwks.json")).get_json()
    assert jwks["keys"] and all("d" not in key and key["alg"] == "ES256" and key["kid"] for key in jwks["keys"])
    response = await client.get("/.well-known/openid-configuration")
    assert response.status_code == 200
    config = await response.get_json()
    assert config["issuer"] == "https://app.example.com"
    assert config["jwks_uri"] == "https://app.example.com/.well-known/jwks.json"
    assert config["revocation_endpoint"].endswith("/api/v1/revoke")
    assert config["introspection_endpoint"].endswith("/api/v1/introspect")
    assert config["token_endpoint"].endswith("/api/v1/login")
    assert config["id_token_signing_alg_values_supported"] == ["ES256"]
    assert "auth:read" in config["scopes_supported"]


async def test_token_signed_by_another_key_with_our_kid_is_rejected(client, member, platform):
    actor = await member()
    kid = platform.state["auth"].signer.keys[0].kid
    attacker = ECKey.generate_key("P-256", parameters={"kid": kid})
    forged = jwt.encode({"alg": "ES256", "kid": kid}, _claims(actor), attacker, algorithms=["ES256"])
    assert await _status(client, forged) == 401


async def test_alg_none_is_rejected(client, member):
    actor = await member()
    header = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    payload = _b64(json.dumps(_claims(actor)).encode())
    assert await _status(client, f"{header}.{payload}.") == 401


async def test_hs256_signed_with_the_public_key_is_rejected(client, member, platform):
    actor = await member()
    key = platform.state["auth"].signer.keys[0]
    public = json.dumps(key.as_dict(private=False)).encode()
    public_pem = key.as_pem(private=False)
    for secret in (public, public_pem):
        header = _b64(json.dumps({"alg": "HS256", "kid": key.kid, "typ": "JWT"}).encode())
        payload = _b64(json.dumps(_claims(actor)).encode())
        signature = _b64(hmac.new(secret, f"{header}.{payload}".encode(), hashlib.sha256).digest())
        assert await _status(client, f"{header}.{payload}.{signature}") == 401


async def test_expired_wrong_issuer_wrong_audience_and_missing_claims_are_rejected(client, member, platform):
    actor = await member()
    signer = platform.state["auth"].signer
    key = signer.keys[0]

    def sign(claims):
        return jwt.encode({"alg": "ES256", "kid": key.kid}, claims, key, algorithms=["ES256"])

    assert await _status(client, sign(_claims(actor, role="user"))) == 200
    assert await _status(client, sign(_claims(actor, exp=int(time.time()) - 5))) == 401
    assert await _status(client, sign(_claims(actor, iss="https://evil.example.com"))) == 401
    assert await _status(client, sign(_claims(actor, aud="another-service"))) == 401
    no_jti = _claims(actor)
    del no_jti["jti"]
    assert await _status(client, sign(no_jti)) == 401
    assert await _status(client, sign(_claims(actor, sub=str(uuid.uuid4())))) == 401


async def test_tampered_payload_is_rejected(client, member):
    actor = await member()
    header, payload, signature = actor.tokens["access_token"].split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["role"] = "super_admin"
    tampered = f"{header}.{_b64(json.dumps(claims).encode())}.{signature}"
    assert await _status(client, tampered) == 401
    assert await _status(client, f"{header}.{payload}.{signature[:-4]}AAAA") == 401
    assert await _status(client, "not.a.jwt") == 401


async def test_role_comes_from_the_database_not_the_token(client, member, platform):
    """A stale role claim cannot outlive a demotion: the principal is built from the user row."""
    admin = await member("org_admin")
    colleague = await member("org_admin", admin.organization)
    response = await client.put(f"/api/v1/users/{colleague.id}", json={"role": "user"}, headers=admin.headers)
    assert response.status_code == 200
    assert (await client.get("/api/v1/users", headers=colleague.headers)).status_code == 403


async def test_opaque_tokens_work_and_unknown_ones_are_rejected(client, member):
    actor = await member(token_format="opaque")
    assert actor.tokens["access_token"].count(".") == 0
    assert await _status(client, actor.tokens["access_token"]) == 200
    assert await _status(client, "x" * 43) == 401
    assert (await client.get("/api/v1/me")).status_code == 401


async def test_expired_opaque_token_is_rejected(app, client, member):
    from datetime import UTC, datetime, timedelta

    from vetrai.plugins.auth.models import AccessToken

    actor = await member(token_format="opaque")
    async with app.app.app_context():
        await AccessToken.filter(user_id=actor.user.id).update(expires_at=datetime.now(UTC) - timedelta(seconds=1))
    assert await _status(client, actor.tokens["access_token"]) == 401


async def test_deactivated_user_and_organization_are_rejected_at_once(app, client, member):
    """Both tokens are verified (and cached) first; saving the rows, as every API and plugin does,
    ends them on the next request."""
    from vetrai.core.models import Organization
    from vetrai.plugins.auth.models import User

    actor = await member()
    opaque = await member(token_format="opaque")
    assert await _status(client, actor.tokens["access_token"]) == 200
    assert await _status(client, opaque.tokens["access_token"]) == 200
    async with app.app.app_context():
        user = await User.get(id=actor.user.id)
        user.is_active = False
        await user.save(update_fields=["is_active", "updated_at"])
        organization = await Organization.get(id=opaque.organization.id)
        organization.is_active = False
        await organization.save()
    assert await _status(client, actor.tokens["access_token"]) == 401
    assert await _status(client, opaque.tokens["access_token"]) == 401
    response = await client.post("/api/v1/refresh", json={"refresh_token": actor.tokens["refresh_token"]})
    assert response.status_code == 401
    response = await client.post("/api/v1/login", json={"email": actor.email, "password": actor.password})
    assert response.status_code == 401


async def test_configured_keys_rotate_and_old_key_still_verifies(custom_app):
    from vetrai.plugins.auth.jwt import JwtSigner

    old = ECKey.generate_key("P-256", parameters={"kid": "old-key"})
    new = ECKey.generate_key("P-256", parameters={"kid": "new-key"})
    test_app = await custom_app(
        {"jwt_private_keys": json.dumps({"keys": [new.as_dict(private=True), old.as_dict(private=True)]})}
    )
    client = test_app.test_client()
    jwks = await (await client.get("/.well-known/jwks.json")).get_json()
    assert [key["kid"] for key in jwks["keys"]] == ["new-key", "old-key"]
    actor = await create_member(test_app)
    header = json.loads(base64.urlsafe_b64decode(actor.tokens["access_token"].split(".")[0] + "=="))
    assert header["kid"] == "new-key"
    previous = JwtSigner([old], "https://app.example.com", "vetrai")
    token, _ = previous.issue(actor.user.id, actor.organization.id, "user", 600)
    assert (await client.get("/api/v1/me", headers=bearer(token))).status_code == 200


async def test_without_the_token_cache_direct_database_edits_apply_at_once(custom_app):
    """With VETRAI_AUTH_TOKEN_CACHE_TTL_SECONDS=0 every request reads the rows, so even an edit
    that bypasses the models (no signals) is seen at once."""
    from vetrai.core.models import Organization
    from vetrai.plugins.auth.models import User

    test_app = await custom_app({"token_cache_ttl_seconds": 0})
    client = test_app.test_client()
    actor = await create_member(test_app)
    opaque = await create_member(test_app, token_format="opaque")
    assert await _status(client, actor.tokens["access_token"]) == 200
    assert await _status(client, opaque.tokens["access_token"]) == 200
    async with test_app.app.app_context():
        await User.filter(id=actor.user.id).update(is_active=False)
        await Organization.filter(id=opaque.organization.id).update(is_active=False)
    assert await _status(client, actor.tokens["access_token"]) == 401
    assert await _status(client, opaque.tokens["access_token"]) == 401


async def test_cached_tokens_end_at_once_on_logout_revocation_and_demotion(client, member, platform):
    """Every token below is used (so cached) before the change that must end or narrow it."""
    jwt_actor = await member()
    opaque_actor = await member(token_format="opaque")
    for actor in (jwt_actor, opaque_actor):
        assert await _status(client, actor.tokens["access_token"]) == 200
        response = await client.post(
            "/api/v1/logout", json={"refresh_token": actor.tokens["refresh_token"]}, headers=actor.headers
        )
        assert response.status_code in (200, 204)
        assert await _status(client, actor.tokens["access_token"]) == 401

    admin = await member("org_admin")
    colleague = await member("org_admin", admin.organization)
    assert (await client.get("/api/v1/users", headers=colleague.headers)).status_code == 200
    response = await client.put(f"/api/v1/users/{colleague.id}", json={"role": "user"}, headers=admin.headers)
    assert response.status_code == 200
    assert (await client.get("/api/v1/users", headers=colleague.headers)).status_code == 403

    assert (await client.get("/api/v1/users", headers=admin.headers)).status_code == 200
    sessions = await (await client.get("/api/v1/me/sessions", headers=admin.headers)).get_json()
    for session in sessions["items"]:
        response = await client.delete(f"/api/v1/me/sessions/{session['id']}", headers=admin.headers)
        assert response.status_code == 204
    assert await _status(client, admin.tokens["access_token"]) == 401


async def test_a_verified_token_is_served_from_the_cache(app, client, member, platform):
    """The second request with a token reads nothing from the database for authentication."""
    from vetrai.plugins.auth.service import runtime

    async with app.app.app_context():
        cache = runtime().tokens
    deadline = time.monotonic() + 10
    while not cache.listening:  # with Redis, nothing is cached until the invalidations are heard
        assert time.monotonic() < deadline, "the invalidation subscription never came up"
        await asyncio.sleep(0.05)
    actor = await member()
    assert await _status(client, actor.tokens["access_token"]) == 200
    digest = hashlib.sha256(actor.tokens["access_token"].encode()).hexdigest()
    async with app.app.app_context():
        assert cache.get(digest) is not None
        assert await _status(client, actor.tokens["access_token"]) == 200
        cache.drop("user", actor.id)
        assert cache.get(digest) is None
