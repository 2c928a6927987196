"""Checks that one organization never reaches another's objects, by URL or in a list."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from vetrai.core.conformance.checks.base import ConformanceBase, response_text
from vetrai.core.conformance.kit import WRITE_METHODS, Kit, Route
from vetrai.core.conformance.resource import Resource


class TenancyChecks(ConformanceBase):
    @pytest.mark.asyncio
    async def test_tenant_isolation(self, vetrai_kit: Kit, resources: Sequence[Resource]) -> None:
        """Objects made by organization A (via ``resources``) are 404 for organization B on every
        GET/PUT/PATCH/DELETE/POST route under the object's URL, and still there for A afterwards; every route with a
        path parameter must be covered by a ``Resource`` or skipped.
        """
        self._check("tenant_isolation")
        routes = [route for route in self._routes(vetrai_kit, "tenant_isolation") if route.parameters]
        if not routes:
            pytest.skip("no non-public route takes a path parameter")
        alice = await vetrai_kit.user(self.actor_role)
        bob = await vetrai_kit.user(self.actor_role)
        made = await self._make_objects(vetrai_kit, alice, resources)
        uncovered, problems = [], []
        plan: list[tuple[Route, Resource, dict[str, str]]] = []
        for route in routes:
            matching = [(resource, values) for resource, values in made if resource.covers(route)]
            if not matching:
                uncovered.append(route.key)
                continue
            resource, values = max(matching, key=lambda item: len(item[0].detail))
            plan.append((route, resource, values))
        assert not uncovered, (
            "routes with path parameters that no Resource covers; add a Resource (the `resources` fixture) "
            f"or skip 'tenant_isolation:<METHOD> <rule>' with a reason: {uncovered}"
        )
        for resource, values in made:
            detail = [route for route in routes if route.rule == resource.detail and route.method == "GET"]
            if detail:
                response = await alice.get(detail[0].path(values))
                assert response.status_code == 200, (
                    f"owner cannot read its own object at {resource.detail}: {response.status_code}"
                )
        plan.sort(key=lambda item: (item[0].method == "DELETE", item[0].rule))
        for route, resource, values in plan:
            body = resource.body_for(route) if route.method in WRITE_METHODS else None
            response = await bob.request(route.method, route.path(values), json=body)
            if response.status_code != 404:
                text = await response_text(response)
                problems.append(f"{route.key} as another organization: {response.status_code} {text}")
        for resource, values in made:
            detail = [route for route in routes if route.rule == resource.detail and route.method == "GET"]
            if detail:
                response = await alice.get(detail[0].path(values))
                if response.status_code != 200:
                    problems.append(
                        f"{resource.detail}: the owner's object is gone after another organization's calls "
                        f"({response.status_code})"
                    )
        assert not problems, "expected 404 for another organization's object:\n" + "\n".join(problems)

    @pytest.mark.asyncio
    async def test_tenant_lists(self, vetrai_kit: Kit, resources: Sequence[Resource]) -> None:
        """A's object is in A's list and absent from B's."""
        self._check("tenant_lists")
        listed = [resource for resource in resources if resource.list]
        if not listed:
            pytest.skip("no Resource names a list route")
        alice = await vetrai_kit.user(self.actor_role)
        bob = await vetrai_kit.user(self.actor_role)
        made = await self._make_objects(vetrai_kit, alice, listed)
        problems = []
        for resource, values in made:
            object_id = resource.object_id(values)
            list_path = Route(resource.list or "", "GET", "", "", False, None).path(values)
            own = await alice.get(list_path, query_string={"limit": 200})
            assert own.status_code == 200, f"GET {list_path} as the owner: {own.status_code} {await response_text(own)}"
            own_ids = [str(item.get("id")) for item in (await own.get_json())["items"]]
            assert object_id in own_ids, f"GET {list_path} does not list the owner's new object {object_id}"
            other = await bob.get(list_path, query_string={"limit": 200})
            if other.status_code == 200:
                other_ids = [str(item.get("id")) for item in (await other.get_json())["items"]]
                if object_id in other_ids:
                    problems.append(f"GET {list_path} lists organization A's object to organization B")
            elif other.status_code != 404:
                problems.append(f"GET {list_path} as organization B: {other.status_code} {await response_text(other)}")
        assert not problems, "\n".join(problems)
