"""``Resource``: how a conformance test makes one of the plugin's objects, and where it lives."""

from __future__ import annotations

import builtins
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from vetrai.core.conformance.kit import Kit, KitUser, Route

Created = str | Mapping[str, str]


@dataclass(frozen=True)
class Resource:
    """How to make one object of the plugin, and where it lives.

    ``detail`` is the URL rule naming one object (``/api/v1/hello/greetings/<greeting_id>``);
    every route under it (``detail`` itself and ``detail + "/..."``) is checked for tenant
    isolation. ``create(kit, owner)`` makes one object as ``owner`` (an org_admin KitUser)
    and returns its id, or a mapping of rule parameters to values for nested rules.
    ``list`` is the rule listing such objects (``{"items": [{"id": ...}]}``). ``body`` is the
    JSON sent to PUT/PATCH/POST routes; ``bodies`` overrides it per ``"METHOD rule"``.
    """

    detail: str
    create: Callable[[Kit, KitUser], Awaitable[Created]]
    list: str | None = None
    body: Any = field(default_factory=dict)
    bodies: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def by_post(
        cls, collection: str, detail: str, create_body: Any, *, id_field: str = "id", **kwargs: Any
    ) -> Resource:
        """A resource created by ``POST collection`` with ``create_body``; ``collection`` is also its list."""

        async def create(kit: Kit, owner: KitUser) -> str:
            response = await owner.post(collection, json=create_body)
            text = await response.get_data(as_text=True)
            assert response.status_code in (200, 201, 202), f"POST {collection} failed: {response.status_code} {text}"
            return str((await response.get_json())[id_field])

        kwargs.setdefault("list", collection)
        return cls(detail=detail, create=create, **kwargs)

    @property
    def parameters(self) -> builtins.list[str]:
        return Route(self.detail, "GET", "", "", False, None).parameters

    def values(self, created: Created) -> dict[str, str]:
        if isinstance(created, Mapping):
            return {str(key): str(value) for key, value in created.items()}
        return {self.parameters[-1]: str(created)}

    def object_id(self, values: Mapping[str, str]) -> str:
        return values[self.parameters[-1]]

    def covers(self, route: Route) -> bool:
        under = route.rule == self.detail or route.rule.startswith(self.detail.rstrip("/") + "/")
        return under and set(route.parameters) <= set(self.parameters)

    def body_for(self, route: Route) -> Any:
        return self.bodies.get(route.key, self.body)
