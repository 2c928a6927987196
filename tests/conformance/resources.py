"""What the conformance kit needs to know about each built-in plugin.

``RESOURCES[plugin]``: how to make one of its objects (for the tenant-isolation checks);
``SKIPS[plugin]``: checks or single routes that do not apply, each with its reason;
``PREFIXES[plugin]``: URL prefixes of a plugin whose routes predate the /api/v1/<plugin>/ rule.
"""

from __future__ import annotations

from typing import Any

from vetrai.core.conformance import Kit, KitUser, Resource


async def _organization(kit: Kit, owner: KitUser) -> str:
    return owner.organization_id


async def _user(kit: Kit, owner: KitUser) -> str:
    member = await kit.user("user", organization=owner.organization)
    return member.id


async def _session(kit: Kit, owner: KitUser) -> str:
    response = await owner.get("/api/v1/me/sessions")
    assert response.status_code == 200, response.status_code
    return str((await response.get_json())["items"][0]["id"])


RESOURCES: dict[str, list[Resource]] = {
    "core": [
        Resource("/api/v1/organizations/<uuid:organization_id>", _organization, list="/api/v1/organizations"),
    ],
    "auth": [
        Resource("/api/v1/users/<user_id>", _user, list="/api/v1/users", body={"first_name": "Mallory"}),
        Resource("/api/v1/me/sessions/<session_id>", _session, list="/api/v1/me/sessions"),
    ],
    "keys": [
        Resource.by_post("/api/v1/keys", "/api/v1/keys/<key_id>", {"name": "conformance", "scopes": []}),
    ],
}

SKIPS: dict[str, dict[str, str]] = {
    "core": {
        "schemas:GET /metrics": "Prometheus text exposition format, not JSON",
        "components": "the core's schemas (Organization*, Health, ServiceInfo, ...) predate the prefix rule; "
        "the core loads first, so check_component_names names any plugin that collides with them",
        "tenant_isolation:DELETE /api/v1/organizations/<uuid:organization_id>": "the route's object is the tenant "
        "itself (erased, not kept for A afterwards); another organization's id is a 404, tested in "
        "tests/core/test_organization_purge.py",
    },
    "auth": {
        "api_key_scopes:GET /api/v1/me": "returns the key's own user (who am I); needs no scope",
        "api_key_scopes:POST /api/v1/introspect": "RFC 7662 introspection is open to any authenticated caller",
    },
    "keys": {
        "api_key_scopes:GET /api/v1/keys/scopes": (
            "lists the scopes a key may be given: any authenticated caller may read it"
        ),
    },
}

BODIES: dict[str, dict[str, object]] = {
    "auth": {
        "POST /api/v1/change-password": {
            "current_password": "correct horse battery",
            "new_password": "another long passphrase",
        }
    },
}

PREFIXES: dict[str, tuple[str, ...]] = {
    "core": ("/api/v1/organizations",),
    # auth keeps the original auth service's documented paths directly under /api/v1
    "auth": (
        "/api/v1/me",
        "/api/v1/users",
        "/api/v1/logout",
        "/api/v1/change-password",
        "/api/v1/verify-email",
        "/api/v1/introspect",
        "/api/v1/audit-logs",
    ),
    "keys": ("/api/v1/keys",),
}


def class_attributes(plugin: str) -> dict[str, Any]:
    return {
        "plugin": plugin,
        "resource_list": RESOURCES.get(plugin, []),
        "skip": SKIPS.get(plugin, {}),
        "route_prefixes": PREFIXES.get(plugin, ()),
        "request_bodies": BODIES.get(plugin, {}),
    }
