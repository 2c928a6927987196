"""Helpers behind the fixtures: a started app's users, API keys, routes and captured events.

Nothing here imports the app at module level; the fixtures build it when a test asks.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import re
import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from vetrai.core.hooks import hookimpl

PASSWORD = "correct horse battery staple"
PARAMETER = re.compile(r"<(?:(?P<converter>[^:<>]+):)?(?P<name>[^<>]+)>")
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH"})


class _Caller:
    """Request helpers that add this caller's credentials to every request."""

    headers: dict[str, str]
    _client: Any
    timeout: float = 15.0
    """Seconds a request may take; a streaming response (SSE) never ends, so it fails clearly."""

    async def request(self, method: str, path: str, *, headers: dict[str, str] | None = None, **kwargs: Any) -> Any:
        call = self._client.open(path, method=method.upper(), headers={**self.headers, **(headers or {})}, **kwargs)
        try:
            return await asyncio.wait_for(call, self.timeout)
        except TimeoutError:
            raise AssertionError(
                f"{method.upper()} {path} did not answer within {self.timeout}s; a streaming route "
                "(SSE) never ends: skip it for this check with a reason"
            ) from None

    async def get(self, path: str, **kwargs: Any) -> Any:
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, **kwargs: Any) -> Any:
        return await self.request("POST", path, **kwargs)

    async def put(self, path: str, **kwargs: Any) -> Any:
        return await self.request("PUT", path, **kwargs)

    async def patch(self, path: str, **kwargs: Any) -> Any:
        return await self.request("PATCH", path, **kwargs)

    async def delete(self, path: str, **kwargs: Any) -> Any:
        return await self.request("DELETE", path, **kwargs)


class Anonymous(_Caller):
    """A caller without credentials (the kit's timeouts, no Authorization header)."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.headers = {}


class KitUser(_Caller):
    """A real user of a test organization with an access token: an authenticated client.

    ``await alice.get("/api/v1/...")`` sends ``Authorization: Bearer <token>``; ``.headers``
    carries it for your own client calls.
    """

    def __init__(
        self, client: Any, user: Any, token: str, organization: Any, password: str, tokens: dict[str, Any]
    ) -> None:
        self._client = client
        self.user = user
        self.token = token
        self.tokens = tokens
        self.organization = organization
        self.password = password
        self.headers = {"Authorization": f"Bearer {token}"}

    @property
    def id(self) -> str:
        return str(self.user.id)

    @property
    def organization_id(self) -> str:
        return str(self.organization.id)

    @property
    def role(self) -> str:
        return str(self.user.role)

    @property
    def email(self) -> str:
        return str(self.user.email)

    def __repr__(self) -> str:
        return f"<KitUser {self.email} {self.role} org={self.organization_id}>"


class KitApiKey(_Caller):
    """An API key made through ``POST /api/v1/keys`` by ``user``; sends ``Authorization: Bearer vk_...``."""

    def __init__(self, client: Any, key: str, body: dict[str, Any], user: KitUser) -> None:
        self._client = client
        self.key = key
        self.id = str(body["id"])
        self.scopes = list(body.get("scopes", []))
        self.body = body
        self.user = user
        self.headers = {"Authorization": f"Bearer {key}"}

    def __repr__(self) -> str:
        return f"<KitApiKey {self.id} scopes={self.scopes}>"


@dataclass(frozen=True)
class Route:
    """One method of one URL rule, with the plugin that owns it."""

    rule: str
    method: str
    endpoint: str
    plugin: str
    public: bool
    view: Any

    @property
    def key(self) -> str:
        """``"GET /api/v1/keys/<key_id>"``: how skip mappings name a route."""
        return f"{self.method} {self.rule}"

    @property
    def parameters(self) -> list[str]:
        return [match.group("name") for match in PARAMETER.finditer(self.rule)]

    @property
    def openapi_path(self) -> str:
        return PARAMETER.sub(lambda match: "{" + match.group("name") + "}", self.rule)

    def path(self, values: dict[str, str] | None = None, default: str | None = None) -> str:
        """The rule with its parameters filled from ``values`` (else ``default``, else a random UUID)."""
        values = values or {}

        def fill(match: re.Match[str]) -> str:
            name = match.group("name")
            if name in values:
                return str(values[name])
            return default if default is not None else str(uuid.uuid4())

        return PARAMETER.sub(fill, self.rule)

    @property
    def request_model(self) -> Any:
        from quart_schema.validation import QUART_SCHEMA_REQUEST_ATTRIBUTE

        value = getattr(self.view, QUART_SCHEMA_REQUEST_ATTRIBUTE, None)
        return value[0] if value else None

    @property
    def request_source(self) -> Any:
        from quart_schema.validation import QUART_SCHEMA_REQUEST_ATTRIBUTE

        value = getattr(self.view, QUART_SCHEMA_REQUEST_ATTRIBUTE, None)
        return value[1] if value else None

    @property
    def response_models(self) -> dict[int, Any]:
        from quart_schema.validation import QUART_SCHEMA_RESPONSE_ATTRIBUTE

        return {
            status: model
            for status, (model, _headers) in getattr(self.view, QUART_SCHEMA_RESPONSE_ATTRIBUTE, {}).items()
        }


def app_routes(app: Any) -> list[Route]:
    """Every routed method of a Quart app (documentation endpoints excluded), owner resolved."""
    from vetrai.core.app import DOCS_ENDPOINTS
    from vetrai.core.openapi import is_public

    quart_app = getattr(app, "app", app)
    owners: dict[str, str] = quart_app.extensions.get("vetrai_blueprint_owners", {})
    public_blueprints: set[str] = quart_app.extensions.get("vetrai_public_blueprints", set())
    routes = []
    for rule in quart_app.url_map.iter_rules():
        if rule.endpoint in DOCS_ENDPOINTS:
            continue
        blueprint = rule.endpoint.rsplit(".", 1)[0] if "." in rule.endpoint else ""
        view = quart_app.view_functions[rule.endpoint]
        public = blueprint in public_blueprints or is_public(view)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            routes.append(Route(rule.rule, method, rule.endpoint, owners.get(blueprint, "core"), public, view))
    return routes


class Kit:
    """Everything the fixtures hand out, bound to one started test app."""

    def __init__(self, test_app: Any) -> None:
        self.test_app = test_app
        self.app = test_app.app
        self.platform = self.app.extensions["vetrai"]
        self.client = test_app.test_client()
        self.anonymous = Anonymous(self.client)

    def _require(self, plugin: str, what: str) -> None:
        if plugin not in self.platform.plugins.infos:
            raise RuntimeError(f"{what} needs the {plugin!r} plugin enabled (add it to the vetrai_plugins fixture)")

    async def org(self, name: str | None = None, **kwargs: Any) -> Any:
        """A new organization (the ``core.Organization`` row)."""
        from vetrai.core.organizations.service import create_organization

        async with self.app.app_context():
            return await create_organization(name or f"Org {uuid.uuid4().hex[:6]}", **kwargs)

    async def user(
        self,
        role: str = "user",
        organization: Any = None,
        *,
        email: str | None = None,
        password: str = PASSWORD,
        token_format: str = "jwt",
    ) -> KitUser:
        """A verified user with ``role`` in ``organization`` (a new one if None), logged in."""
        self._require("auth", "make_user")
        from vetrai.plugins.auth import service

        organization = organization or await self.org()
        async with self.app.app_context():
            user = await service.create_user(
                organization,
                email or f"{role}-{uuid.uuid4().hex[:8]}@example.com",
                password,
                role=role,
                email_verified=True,
            )
            tokens = await service.issue_tokens(user, token_format)  # type: ignore[arg-type]
        return KitUser(self.client, user, tokens["access_token"], organization, password, tokens)

    async def api_key(
        self, scopes: list[str] | tuple[str, ...] = (), user: KitUser | None = None, **fields: Any
    ) -> KitApiKey:
        """An API key with ``scopes``, made through the keys API by ``user`` (a new org_admin if None)."""
        self._require("keys", "api_key")
        user = user or await self.user("org_admin")
        body = {"name": fields.pop("name", "kit key"), "scopes": list(scopes), **fields}
        response = await self.client.post("/api/v1/keys", json=body, headers=user.headers)
        if response.status_code != 201:
            raise AssertionError(
                f"creating an API key failed: {response.status_code} {await response.get_data(as_text=True)}"
            )
        created = await response.get_json()
        return KitApiKey(self.client, created["key"], created, user)

    def routes(self, plugin: str | None = None) -> list[Route]:
        return [route for route in app_routes(self.app) if plugin is None or route.plugin == plugin]

    async def openapi(self) -> dict[str, Any]:
        response = await self.client.get("/openapi.json")
        assert response.status_code == 200, response.status_code
        document: dict[str, Any] = await response.get_json()
        return document

    def scopes_of(self, plugin: str) -> set[str]:
        registry = self.platform.plugins.permissions
        return {name for name, owner in registry.owners.items() if owner == plugin}


class EventLog:
    """Every domain event emitted while the fixture is active, in order (``list`` of DomainEvent)."""

    def __init__(self) -> None:
        self.events: list[Any] = []
        self._changed = asyncio.Event()

    # registered on the app's plugin manager as a plugin of its own
    @hookimpl
    def vetrai_event(self, event: Any) -> None:
        self.events.append(event)
        self._changed.set()

    def __iter__(self) -> Iterator[Any]:
        return iter(self.events)

    def __len__(self) -> int:
        return len(self.events)

    def __getitem__(self, index: int) -> Any:
        return self.events[index]

    def names(self) -> list[str]:
        return [event.name for event in self.events]

    def of(self, name: str) -> list[Any]:
        return [event for event in self.events if event.name == name]

    def clear(self) -> None:
        self.events.clear()

    async def wait_for(self, name: str, timeout: float = 5.0) -> Any:
        """The first event called ``name``, waiting up to ``timeout`` seconds for it."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            found = self.of(name)
            if found:
                return found[0]
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise AssertionError(f"no {name!r} event within {timeout}s (saw {self.names()})")
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except TimeoutError:
                pass


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def forged_credentials(real_token: str | None) -> dict[str, str]:
    """Credentials nobody issued: re-signed, unsigned and tampered copies of a real token, and guesses."""
    forged = {
        "random opaque token": secrets.token_urlsafe(32),
        "unknown API key": "vk_" + secrets.token_urlsafe(32),
    }
    claims: dict[str, Any] = {"sub": str(uuid.uuid4()), "exp": 4102444800, "iat": 1700000000}
    header: dict[str, Any] = {"alg": "HS256", "typ": "JWT"}
    parts = (real_token or "").split(".")
    if len(parts) == 3:
        try:
            header = json.loads(_unb64(parts[0]))
            claims = json.loads(_unb64(parts[1]))
        except ValueError:
            pass
        tampered = {**claims, "role": "super_admin", "scope": "*", "exp": 4102444800}
        forged["tampered claims, original signature"] = ".".join(
            [parts[0], _b64(json.dumps(tampered).encode()), parts[2]]
        )
    signing_input = ".".join(
        [
            _b64(
                json.dumps(
                    {"alg": "HS256", "typ": "JWT", **({"kid": header["kid"]} if "kid" in header else {})}
                ).encode()
            ),
            _b64(json.dumps(claims).encode()),
        ]
    )
    signature = hmac.new(secrets.token_bytes(32), signing_input.encode(), hashlib.sha256).digest()
    forged["JWT signed with a foreign key"] = f"{signing_input}.{_b64(signature)}"
    unsigned = ".".join([_b64(json.dumps({"alg": "none", "typ": "JWT"}).encode()), _b64(json.dumps(claims).encode())])
    forged["unsigned JWT (alg none)"] = unsigned + "."
    return forged
