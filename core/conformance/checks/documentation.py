"""Checks of the routes as documented: prefixes, docstrings and schemas, and the OpenAPI document."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest

from vetrai.core.conformance.checks.base import ConformanceBase
from vetrai.core.conformance.kit import WRITE_METHODS, Kit

if TYPE_CHECKING:
    from vetrai.core.config import Settings


class DocumentationChecks(ConformanceBase):
    @pytest.mark.asyncio
    async def test_route_prefix(self, vetrai_kit: Kit) -> None:
        """Every non-public route is under ``/api/v1/<plugin>`` (or the class's ``route_prefixes``)."""
        self._check("route_prefix")
        prefixes = [prefix.rstrip("/") for prefix in (self.route_prefixes or (f"/api/v1/{self.plugin}",))]
        outside = [
            route.key
            for route in self._routes(vetrai_kit, "route_prefix")
            if not any(route.rule == prefix or route.rule.startswith(prefix + "/") for prefix in prefixes)
        ]
        assert not outside, f"routes outside {prefixes} that are not public: {outside}"

    @pytest.mark.asyncio
    async def test_schemas(self, vetrai_kit: Kit) -> None:
        """Every route has a docstring; GET routes a response model; POST/PUT/PATCH a request model (or a documented
        202/204).
        """
        self._check("schemas")
        document = await vetrai_kit.openapi()
        problems = []
        for route in self._routes(vetrai_kit, "schemas", public=None):
            operation = document["paths"].get(route.openapi_path, {}).get(route.method.lower(), {})
            if not (route.view.__doc__ or "").strip():
                problems.append(f"{route.key}: no docstring (it becomes the OpenAPI summary)")
            if route.method in WRITE_METHODS:
                codes = set(operation.get("responses", {}))
                if route.request_model is None and not codes & {"202", "204"}:
                    problems.append(f"{route.key}: no request schema (validate_request or document_request)")
            if route.method == "GET" and not route.response_models:
                problems.append(f"{route.key}: no response schema (validate_response)")
        assert not problems, "\n".join(problems)

    @pytest.mark.asyncio
    async def test_openapi(self, vetrai_kit: Kit) -> None:
        """Every route is in ``/openapi.json`` with a tag and an operationId; operationIds are unique."""
        self._check("openapi")
        document = await vetrai_kit.openapi()
        problems = []
        for route in self._routes(vetrai_kit, "openapi", public=None):
            operation = document["paths"].get(route.openapi_path, {}).get(route.method.lower())
            if operation is None:
                problems.append(f"{route.key}: missing from /openapi.json")
                continue
            if not operation.get("tags"):
                problems.append(f"{route.key}: no tag")
            if not operation.get("operationId"):
                problems.append(f"{route.key}: no operationId")
        ids = [
            op["operationId"]
            for ops in document["paths"].values()
            for op in ops.values()
            if isinstance(op, dict) and "operationId" in op
        ]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        assert not duplicates, f"duplicate operationIds: {duplicates}"
        assert not problems, "\n".join(problems)

    @pytest.mark.asyncio
    async def test_components(self, vetrai_kit: Kit, vetrai_settings_factory: Callable[..., Settings]) -> None:
        """Every schema the plugin's routes use is named with the plugin's prefix (``HelloGreetingOut``), and an app
        with every installed plugin builds without a component clash naming this plugin.
        """
        self._check("components")
        from vetrai.core.app import create_app
        from vetrai.core.errors import PluginError
        from vetrai.core.openapi import _models_in, _route_models

        prefix = self.plugin.replace("-", "").replace("_", "").lower()
        unprefixed: set[str] = set()
        for route in self._routes(vetrai_kit, "components", public=None):
            stack = list(_route_models(route.view))
            seen: set[type] = set()
            while stack:
                model = stack.pop()
                if model in seen:
                    continue
                seen.add(model)
                # the core's own models (PageQuery, Page[...]) are one class shared by every plugin
                shared = model.__module__.startswith("vetrai.core.")
                if not shared and not model.__name__.lower().startswith(prefix):
                    unprefixed.add(model.__name__)
                for model_field in model.model_fields.values():
                    stack.extend(_models_in(model_field.annotation))
        assert not unprefixed, (
            f"OpenAPI components are named by class name: prefix these with {self.plugin!r} "
            f"so no other plugin can collide: {sorted(unprefixed)}"
        )
        try:
            create_app(
                vetrai_settings_factory(plugins=None),
                extra_plugins=(self.plugin_object,) if self.plugin_object is not None else (),
            )
        except PluginError as exc:
            if exc.plugin == self.plugin or f"plugin {self.plugin!r}" in str(exc):
                pytest.fail(f"with every installed plugin enabled: {exc}")
            logging.getLogger("vetrai.conformance").warning("all-plugins app not built (another plugin): %s", exc)
