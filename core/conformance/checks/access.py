"""Checks of who gets in: no credentials, forged credentials, and API keys without the plugin's scopes."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from vetrai.core.conformance.checks.base import ConformanceBase, is_problem, response_text
from vetrai.core.conformance.kit import Kit, forged_credentials
from vetrai.core.conformance.resource import Resource


class AccessChecks(ConformanceBase):
    @pytest.mark.asyncio
    async def test_unauthenticated(self, vetrai_kit: Kit) -> None:
        """Every non-public route: 401 ``application/problem+json`` with ``WWW-Authenticate``, without credentials."""
        self._check("unauthenticated")
        problems = []
        for route in self._routes(vetrai_kit, "unauthenticated"):
            response = await vetrai_kit.anonymous.request(route.method, route.path(), json=self._body(route))
            if response.status_code != 401 or not is_problem(response) or "WWW-Authenticate" not in response.headers:
                problems.append(
                    f"{route.key}: {response.status_code} {response.headers.get('Content-Type')} "
                    f"{await response_text(response)}"
                )
        assert not problems, "expected 401 problem+json with WWW-Authenticate:\n" + "\n".join(problems)

    @pytest.mark.asyncio
    async def test_forged_token(self, vetrai_kit: Kit) -> None:
        """Every non-public route: 401 for a real token re-signed with a foreign key, with tampered claims, unsigned
        (``alg: none``), a random token and an unknown ``vk_`` key.
        """
        self._check("forged_token")
        real = await vetrai_kit.user(self.actor_role) if "auth" in vetrai_kit.platform.plugins.infos else None
        forged = forged_credentials(real.token if real else None)
        problems = []
        for route in self._routes(vetrai_kit, "forged_token"):
            for label, credential in forged.items():
                response = await vetrai_kit.anonymous.request(
                    route.method,
                    route.path(),
                    headers={"Authorization": f"Bearer {credential}"},
                    json=self._body(route),
                )
                if response.status_code != 401:
                    problems.append(f"{route.key} with {label}: {response.status_code} {await response_text(response)}")
        assert not problems, "expected 401:\n" + "\n".join(problems)

    @pytest.mark.asyncio
    async def test_api_key_scopes(self, vetrai_kit: Kit, resources: Sequence[Resource]) -> None:
        """An API key holding every scope of its creator except the plugin's own is refused 403 on every non-public
        route; a key with them gets into at least one GET route.
        """
        self._check("api_key_scopes")
        routes = self._routes(vetrai_kit, "api_key_scopes")
        if not routes:
            pytest.skip("no non-public routes")
        if "keys" not in vetrai_kit.platform.plugins.infos:
            pytest.skip("the keys plugin is not enabled (with_plugins)")
        own_scopes = vetrai_kit.scopes_of(self.plugin)
        assert own_scopes, f"plugin {self.plugin!r} has non-public routes but defines no scopes (vetrai_permissions)"
        alice = await vetrai_kit.user(self.actor_role)
        role_scopes = vetrai_kit.platform.plugins.permissions.scopes_for_role(alice.role)
        made = await self._make_objects(vetrai_kit, alice, resources)
        without = await vetrai_kit.api_key(sorted(role_scopes - own_scopes), user=alice)
        with_scopes = await vetrai_kit.api_key(sorted(role_scopes), user=alice)
        problems = []
        admitted = []
        for route in sorted(routes, key=lambda item: (item.method == "DELETE", item.rule)):
            values = self._values_for(route, made)
            response = await without.request(route.method, route.path(values), json=self._body(route))
            if response.status_code != 403:
                problems.append(f"{route.key}: {response.status_code} {await response_text(response)}")
            if route.method == "GET":
                response = await with_scopes.get(route.path(values))
                if response.status_code not in (401, 403):
                    admitted.append(route.key)
        assert not problems, f"expected 403 for an API key without {sorted(own_scopes)}:\n" + "\n".join(problems)
        assert admitted or not any(route.method == "GET" for route in routes), (
            f"a key holding {sorted(own_scopes)} was refused on every GET route"
        )
