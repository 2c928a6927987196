"""``PluginConformance``: the checks every VetrAI plugin should pass, as a pytest base class.

    from vetrai.core.conformance import PluginConformance, Resource

    class TestHello(PluginConformance):
        plugin = "hello"
        resource_list = [
            Resource.by_post("/api/v1/hello/greetings", "/api/v1/hello/greetings/<greeting_id>", {"message": "hi"}),
        ]
        skip = {"event_loop": "reason why this check does not apply"}

Each ``test_*`` method is one check (names in ``CHECKS``). ``skip`` maps a check name to the
reason it does not apply, or ``"<check>:<METHOD> <rule>"`` to exempt one route from one check.
The methods import the app lazily, so importing this module stays cheap.
"""

from __future__ import annotations

import asyncio
import builtins
import logging
import os
import threading
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pytest

from vetrai.core.conformance.backend import release_database as close_db_safely
from vetrai.core.conformance.kit import WRITE_METHODS, Kit, KitUser, Route, forged_credentials

if TYPE_CHECKING:
    from vetrai.core.config import Settings

PLUGIN_GROUP = "vetrai.plugins"
PROBLEM_JSON = "application/problem+json"

CHECKS: dict[str, str] = {
    "entry_point": "the plugin is registered in the vetrai.plugins entry-point group and imports",
    "plugin_info": "vetrai_plugin_info returns a valid PluginInfo named like the entry point",
    "hooks": "hook implementations match the specs (check_pending); no vetrai_* function lacks @hookimpl",
    "requires": "required plugins are installed, and every app a model points at is required",
    "migrations": "models migrate from zero, migrations match the models, tables carry the app prefix",
    "route_prefix": "every route is under /api/v1/<plugin>/ (or route_prefixes) or declared public",
    "schemas": "every route has a docstring, write routes a request schema, reads a response schema",
    "openapi": "every route is in /openapi.json with a tag and a unique operationId",
    "components": "OpenAPI component names carry the plugin's prefix and collide with no other plugin's",
    "unauthenticated": "every non-public route answers 401 problem+json with WWW-Authenticate without credentials",
    "forged_token": "every non-public route answers 401 to forged, tampered and unsigned tokens",
    "tenant_isolation": "another organization's objects are 404 on every route that names them",
    "tenant_lists": "another organization's objects are absent from list routes",
    "api_key_scopes": "an API key without the plugin's scopes is refused 403 on every non-public route",
    "lifecycle": "start-up and shutdown run twice and leave no task, thread or file descriptor behind",
    "event_loop": "no callback blocks the event loop longer than slow_callback_seconds during requests",
    "bad_input": (
        "oversized bodies on every write route, and malformed JSON and wrong types where it takes a body, "
        "give 4xx problem+json"
    ),
}

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


async def _text(response: Any) -> str:
    text: str = (await response.get_data(as_text=True)).strip()
    return text if len(text) < 300 else text[:300] + "..."


def _is_problem(response: Any) -> bool:
    return str(response.headers.get("Content-Type", "")).startswith(PROBLEM_JSON)


def _models_of(spec: Any) -> list[Any]:
    """The concrete Tortoise models defined in a ModelSpec's modules."""
    import importlib

    from tortoise.models import Model

    models = []
    for module_name in spec.modules:
        for value in vars(importlib.import_module(module_name)).values():
            if isinstance(value, type) and issubclass(value, Model) and value.__module__ == module_name:
                if not getattr(value._meta, "abstract", False):
                    models.append(value)
    return models


def _threads() -> list[str]:
    """Threads other than the event loop's default executor (its idle workers stay by design)."""
    return sorted(thread.name for thread in threading.enumerate() if not thread.name.startswith("asyncio_"))


def _fd_count() -> int | None:
    try:
        return len(os.listdir("/proc/self/fd"))
    except OSError:
        return None


class _SlowCallbacks(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message.startswith("Executing") and " took " in message:
            self.messages.append(message)


class PluginConformance:
    """Subclass it in a ``Test...`` class and set ``plugin``; every check is a test method."""

    plugin: str = ""
    skip: Mapping[str, str] = {}
    route_prefixes: Sequence[str] = ()
    """Allowed path prefixes of non-public routes; default ``/api/v1/<plugin>``."""
    with_plugins: Sequence[str] = ("auth", "keys")
    """Enabled beside the plugin and its requirements (auth makes users, keys makes API keys)."""
    resource_list: Sequence[Resource] = ()
    """The default of the ``resources`` fixture."""
    actor_role: str = "org_admin"
    """The role of the users that make objects and send bad input."""
    slow_callback_seconds: float = 0.1
    plugin_object: Any = None
    """A plugin object (module or instance) to test instead of the entry point, e.g. before packaging."""
    request_bodies: Mapping[str, Any] = {}
    """JSON bodies by ``"METHOD rule"`` for write routes that validate before checking scopes."""

    # ----------------------------------------------------------------- fixtures
    @pytest.fixture
    def vetrai_plugins(self) -> list[str]:
        return self.enabled_plugins()

    @pytest.fixture
    def vetrai_extra_plugins(self) -> tuple[object, ...]:
        return (self.plugin_object,) if self.plugin_object is not None else ()

    @pytest.fixture
    def resources(self) -> Sequence[Resource]:
        """Override to make the plugin's objects (it may use any fixture)."""
        return list(self.resource_list)

    # ------------------------------------------------------------------ helpers
    def enabled_plugins(self) -> list[str]:
        """The plugin, what it requires (transitively) and ``with_plugins``, if installed."""
        from importlib.metadata import entry_points

        available = {ep.name: ep for ep in entry_points(group=PLUGIN_GROUP)}
        chosen: list[str] = []

        def visit(name: str, explicit: bool) -> None:
            if name == "core" or name in chosen:
                return
            if name not in available:
                if explicit:
                    chosen.append(name)  # the app then names the missing plugin
                return
            chosen.append(name)
            for required in available[name].load().vetrai_plugin_info().requires:
                visit(required, True)

        if self.plugin_object is None:
            visit(self.plugin, True)
        else:
            for required in self.plugin_object.vetrai_plugin_info().requires:
                visit(required, True)
        for name in self.with_plugins:
            visit(name, False)
        return sorted(chosen)

    def _validate_skip(self) -> None:
        assert self.plugin, f"{type(self).__name__} must set plugin = '<name>'"
        for key, reason in self.skip.items():
            check = key.split(":", 1)[0]
            assert check in CHECKS, f"skip names unknown check {check!r} (known: {', '.join(CHECKS)})"
            assert isinstance(reason, str) and reason.strip(), f"skip[{key!r}] needs a reason"

    def _check(self, name: str) -> None:
        self._validate_skip()
        if name in self.skip:
            pytest.skip(f"{name}: {self.skip[name]}")

    def _body(self, route: Route) -> Any:
        return self.request_bodies.get(route.key, {}) if route.method in WRITE_METHODS else None

    def _skipped(self, check: str, route: Route) -> bool:
        return f"{check}:{route.key}" in self.skip

    def _module(self) -> Any:
        if self.plugin_object is not None:
            return self.plugin_object
        if self.plugin == "core":
            from vetrai.core import plugin as core_plugin

            return core_plugin
        from importlib.metadata import entry_points

        found = [ep for ep in entry_points(group=PLUGIN_GROUP) if ep.name == self.plugin]
        assert found, (
            f"no entry point {self.plugin!r} in group {PLUGIN_GROUP!r}: add it to "
            f'[project.entry-points."{PLUGIN_GROUP}"]'
        )
        return found[0].load()

    def _routes(
        self, kit: Kit, check: str, *, public: bool | None = False, methods: Sequence[str] | None = None
    ) -> list[Route]:
        routes = [route for route in kit.routes(self.plugin) if not self._skipped(check, route)]
        if public is not None:
            routes = [route for route in routes if route.public == public]
        if methods is not None:
            allowed = set(methods)
            routes = [route for route in routes if route.method in allowed]
        return routes

    async def _make_objects(
        self, kit: Kit, owner: KitUser, resources: Sequence[Resource]
    ) -> list[tuple[Resource, dict[str, str]]]:
        made = []
        for resource in resources:
            made.append((resource, resource.values(await resource.create(kit, owner))))
        return made

    @staticmethod
    def _values_for(route: Route, made: Sequence[tuple[Resource, dict[str, str]]]) -> dict[str, str]:
        for resource, values in sorted(made, key=lambda item: -len(item[0].detail)):
            if resource.covers(route):
                return values
        merged: dict[str, str] = {}
        for _resource, values in made:
            merged.update(values)
        return merged

    # ---------------------------------------------------------- 1. the plugin
    def test_entry_point(self) -> None:
        """The entry point exists in the ``vetrai.plugins`` group and its module imports."""
        self._check("entry_point")
        if self.plugin_object is not None:
            pytest.skip("tested as plugin_object, not through an entry point")
        module = self._module()
        assert hasattr(module, "vetrai_plugin_info"), f"{module.__name__} does not implement vetrai_plugin_info"

    def test_plugin_info(self) -> None:
        """``vetrai_plugin_info()`` is a PluginInfo with this name, a version and a description."""
        self._check("plugin_info")
        from vetrai.core.hooks import PluginInfo

        info = self._module().vetrai_plugin_info()
        assert isinstance(info, PluginInfo), f"vetrai_plugin_info returned {type(info).__name__}, not PluginInfo"
        assert info.name == self.plugin, f"plugin_info name {info.name!r} differs from the entry point {self.plugin!r}"
        assert isinstance(info.version, str) and info.version.strip(), "plugin_info needs a version"
        try:
            from packaging.version import InvalidVersion, Version
        except ImportError:  # pragma: no cover - packaging ships with pip/pytest
            pass
        else:
            try:
                Version(info.version)
            except InvalidVersion:
                pytest.fail(f"plugin_info version {info.version!r} is not a PEP 440 version")
        assert info.description.strip(), (
            "plugin_info needs a one-line description (shown by `vetrai plugins` and GET /)"
        )
        assert not isinstance(info.requires, str), "requires must be a sequence of plugin names, not a string"

    def test_hooks(self) -> None:
        """Every hook implementation matches a spec, and no ``vetrai_*`` function was left undecorated."""
        self._check("hooks")
        import pluggy

        from vetrai.core.hooks import PROJECT, VetraiSpecs
        from vetrai.core.plugins import new_plugin_manager

        module = self._module()
        manager = new_plugin_manager()
        try:
            manager.register(module, name=self.plugin)
            manager.check_pending()
        except (ValueError, pluggy.PluginValidationError) as exc:
            pytest.fail(f"hook implementations do not match the specs: {exc}")
        specs = {name for name in dir(VetraiSpecs) if name.startswith("vetrai_")}
        undecorated = [
            name
            for name in dir(module)
            if name.startswith("vetrai_")
            and callable(getattr(module, name))
            and not hasattr(getattr(module, name), f"{PROJECT}_impl")
        ]
        assert not undecorated, f"functions named like hooks but without @hookimpl (pluggy ignores them): {undecorated}"
        implemented = {caller.name for caller in manager.get_hookcallers(module) or []}
        assert implemented <= specs, f"implementations of unknown hooks: {sorted(implemented - specs)}"

    def test_requires(self) -> None:
        """Required plugins are installed, and every app a model's relation points at is required."""
        self._check("requires")
        from importlib.metadata import entry_points

        module = self._module()
        info = module.vetrai_plugin_info()
        installed = {ep.name for ep in entry_points(group=PLUGIN_GROUP)} | {"core"}
        assert self.plugin not in info.requires, "a plugin cannot require itself"
        missing = sorted(set(info.requires) - installed)
        assert not missing, f"requires plugins that are not installed: {missing}"
        spec = module.vetrai_models() if hasattr(module, "vetrai_models") else None
        if spec is None:
            return
        allowed = {"core", spec.app_label, *info.requires}
        undeclared = []
        for model in _models_of(spec):
            for field_name, field_object in model._meta.fields_map.items():
                target = getattr(field_object, "model_name", None)
                if isinstance(target, str) and "." in target and target.split(".", 1)[0] not in allowed:
                    undeclared.append(f"{model.__name__}.{field_name} -> {target}")
        assert not undeclared, f"relations to apps not in requires={list(info.requires)}: {undeclared}"

    # --------------------------------------------------------- 2. migrations
    @pytest.mark.asyncio
    async def test_migrations(
        self, vetrai_settings_factory: Callable[..., Settings], vetrai_empty_database_url: str
    ) -> None:
        """From an empty database every migration applies; then nothing is pending or undetected."""
        self._check("migrations")
        from vetrai.core.db import apply_migrations, detect_changes, init_db, pending_migrations
        from vetrai.core.platform import Platform

        settings = vetrai_settings_factory(
            plugins=self.enabled_plugins(), auto_migrate=False, database_url=vetrai_empty_database_url
        )
        platform = Platform.build(settings, (self.plugin_object,) if self.plugin_object is not None else ())
        specs = dict(platform.plugins.call_each("vetrai_models"))
        spec = specs.get(self.plugin)
        if spec is None:
            pytest.skip(f"plugin {self.plugin!r} declares no models")
        assert spec.migrations, f"app {spec.app_label!r} has models but no migrations package in its ModelSpec"
        await init_db(platform.db_config)
        try:
            applied = await apply_migrations(platform.db_config)
            assert any(name.startswith(f"{spec.app_label}.") for name in applied), (
                f"no migration of app {spec.app_label!r} was applied (applied: {applied}); "
                f"run `vetrai makemigrations {spec.app_label}`"
            )
            assert await pending_migrations(platform.db_config) == []
            changes = [
                writer for writer in await detect_changes(platform.db_config) if writer.app_label == spec.app_label
            ]
            assert not changes, (
                f"models of {spec.app_label!r} changed without a migration: run `vetrai makemigrations "
                f"{spec.app_label}`"
            )
            unprefixed = [
                f"{model.__name__} ({model._meta.db_table})"
                for model in _models_of(spec)
                if not model._meta.db_table.startswith(f"{spec.app_label}_")
            ]
            assert not unprefixed, f"tables must be named '{spec.app_label}_...' (Meta.table): {unprefixed}"
        finally:
            await close_db_safely()

    # ------------------------------------------------------ 3. routes and docs
    @pytest.mark.asyncio
    async def test_route_prefix(self, vetrai_kit: Kit) -> None:
        """Non-public routes live under ``/api/v1/<plugin>`` (or ``route_prefixes``)."""
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
        """Docstrings everywhere; request schemas on writes (or a 202/204); response schemas on reads."""
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
        """Each route is documented with a tag; operationIds are unique in the whole document."""
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
        """Schema names start with the plugin name, and loading every installed plugin finds no clash."""
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

    # ----------------------------------------------------- 4. authentication
    @pytest.mark.asyncio
    async def test_unauthenticated(self, vetrai_kit: Kit) -> None:
        """No credentials: 401 problem+json with ``WWW-Authenticate`` on every non-public route."""
        self._check("unauthenticated")
        problems = []
        for route in self._routes(vetrai_kit, "unauthenticated"):
            response = await vetrai_kit.anonymous.request(route.method, route.path(), json=self._body(route))
            if response.status_code != 401 or not _is_problem(response) or "WWW-Authenticate" not in response.headers:
                problems.append(
                    f"{route.key}: {response.status_code} {response.headers.get('Content-Type')} "
                    f"{await _text(response)}"
                )
        assert not problems, "expected 401 problem+json with WWW-Authenticate:\n" + "\n".join(problems)

    @pytest.mark.asyncio
    async def test_forged_token(self, vetrai_kit: Kit) -> None:
        """Forged, tampered, unsigned and unknown credentials: 401 on every non-public route."""
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
                    problems.append(f"{route.key} with {label}: {response.status_code} {await _text(response)}")
        assert not problems, "expected 401:\n" + "\n".join(problems)

    # -------------------------------------------------------- 5. tenancy
    @pytest.mark.asyncio
    async def test_tenant_isolation(self, vetrai_kit: Kit, resources: Sequence[Resource]) -> None:
        """Objects of organization A are 404 to organization B on every route that names them."""
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
                problems.append(f"{route.key} as another organization: {response.status_code} {await _text(response)}")
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
        """Objects of organization A are listed for A and absent from B's lists."""
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
            assert own.status_code == 200, f"GET {list_path} as the owner: {own.status_code} {await _text(own)}"
            own_ids = [str(item.get("id")) for item in (await own.get_json())["items"]]
            assert object_id in own_ids, f"GET {list_path} does not list the owner's new object {object_id}"
            other = await bob.get(list_path, query_string={"limit": 200})
            if other.status_code == 200:
                other_ids = [str(item.get("id")) for item in (await other.get_json())["items"]]
                if object_id in other_ids:
                    problems.append(f"GET {list_path} lists organization A's object to organization B")
            elif other.status_code != 404:
                problems.append(f"GET {list_path} as organization B: {other.status_code} {await _text(other)}")
        assert not problems, "\n".join(problems)

    # ------------------------------------------------------- 6. API key scopes
    @pytest.mark.asyncio
    async def test_api_key_scopes(self, vetrai_kit: Kit, resources: Sequence[Resource]) -> None:
        """A key holding every scope but the plugin's is refused 403; one with them gets in."""
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
                problems.append(f"{route.key}: {response.status_code} {await _text(response)}")
            if route.method == "GET":
                response = await with_scopes.get(route.path(values))
                if response.status_code not in (401, 403):
                    admitted.append(route.key)
        assert not problems, f"expected 403 for an API key without {sorted(own_scopes)}:\n" + "\n".join(problems)
        assert admitted or not any(route.method == "GET" for route in routes), (
            f"a key holding {sorted(own_scopes)} was refused on every GET route"
        )

    # -------------------------------------------------------- 7. runtime
    @pytest.mark.asyncio
    async def test_lifecycle(self, vetrai_settings: Settings) -> None:
        """The same app starts and stops twice; the second cycle leaks no task, thread or descriptor."""
        self._check("lifecycle")
        from vetrai.core.app import create_app

        application = create_app(
            vetrai_settings, extra_plugins=(self.plugin_object,) if self.plugin_object is not None else ()
        )
        baseline_tasks = set(asyncio.all_tasks())
        counts: list[tuple[list[str], int | None]] = []
        try:
            await self._two_cycles(application, baseline_tasks, counts)
        finally:
            await close_db_safely()
        (threads_1, fds_1), (threads_2, fds_2) = counts
        assert len(threads_2) <= len(threads_1), f"threads grew from {threads_1} to {threads_2} over a start/stop cycle"
        if fds_1 is not None and fds_2 is not None:
            assert fds_2 <= fds_1, f"open file descriptors grew from {fds_1} to {fds_2} over a start/stop cycle"

    @staticmethod
    async def _two_cycles(
        application: Any, baseline_tasks: set[Any], counts: list[tuple[list[str], int | None]]
    ) -> None:
        from tortoise import Tortoise

        for cycle in (1, 2):
            async with application.test_app() as test_app:
                response = await test_app.test_client().get("/health")
                assert response.status_code == 200, f"cycle {cycle}: /health {response.status_code}"
            # threads and descriptors a cycle releases may take a moment to go (worker threads end)
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 2.0
            while True:
                await asyncio.sleep(0.02)
                leftover = [task for task in asyncio.all_tasks() - baseline_tasks if not task.done()]
                threads = _threads()
                settled = not leftover and (cycle == 1 or len(threads) <= len(counts[0][0]))
                if settled or loop.time() > deadline:
                    break
            assert not leftover, f"cycle {cycle}: tasks still running after shutdown: {leftover}"
            assert not Tortoise._inited, f"cycle {cycle}: database connections still open after shutdown"
            counts.append((threads, _fd_count()))

    @pytest.mark.asyncio
    async def test_event_loop(self, vetrai_kit: Kit, resources: Sequence[Resource]) -> None:
        """asyncio debug mode finds no callback over ``slow_callback_seconds`` in the plugin's requests.

        A blocking call slows the same request every time; a busy machine slows random ones. So
        a request counts as blocking only if it is slow in each of up to three passes.
        """
        self._check("event_loop")
        alice = await vetrai_kit.user(self.actor_role)
        handler = _SlowCallbacks()

        async def exercise() -> set[str]:
            slow: set[str] = set()
            made = []
            for resource in resources:
                before = len(handler.messages)
                made.append((resource, resource.values(await resource.create(vetrai_kit, alice))))
                if len(handler.messages) > before:
                    slow.add(f"create {resource.detail}")
            for route in self._routes(vetrai_kit, "event_loop", public=None, methods=["GET"]):
                before = len(handler.messages)
                await alice.get(route.path(self._values_for(route, made)))
                if len(handler.messages) > before:
                    slow.add(route.key)
            return slow

        await exercise()  # warm-up: one-time imports and caches are not what this measures
        loop = asyncio.get_running_loop()
        asyncio_log = logging.getLogger("asyncio")
        old = (loop.get_debug(), loop.slow_callback_duration, asyncio_log.level)
        asyncio_log.addHandler(handler)
        asyncio_log.setLevel(logging.WARNING)
        loop.set_debug(True)
        loop.slow_callback_duration = self.slow_callback_seconds
        try:
            blocking = await exercise()
            for _retry in range(2):
                if not blocking:
                    break
                blocking &= await exercise()
        finally:
            loop.set_debug(old[0])
            loop.slow_callback_duration = old[1]
            asyncio_log.setLevel(old[2])
            asyncio_log.removeHandler(handler)
        assert not blocking, (
            f"the event loop was blocked over {self.slow_callback_seconds}s in every pass by: {sorted(blocking)}\n"
            + "\n".join(handler.messages[-5:])
        )

    # -------------------------------------------------------- 8. bad input
    @pytest.mark.asyncio
    async def test_bad_input(self, vetrai_kit: Kit, vetrai_settings: Settings, resources: Sequence[Resource]) -> None:
        """Malformed JSON, a JSON array, wrong field types, an oversized body: 4xx problem+json."""
        self._check("bad_input")
        routes = [
            route for route in self._routes(vetrai_kit, "bad_input", public=None) if route.method in WRITE_METHODS
        ]
        if not routes:
            pytest.skip("the plugin has no write route")
        alice = await vetrai_kit.user(self.actor_role)
        made = await self._make_objects(vetrai_kit, alice, resources)
        oversized = b"[" + b"0," * ((vetrai_settings.max_request_bytes + 1) // 2) + b"0]"
        json_type = {"Content-Type": "application/json"}
        problems = []
        for route in sorted(routes, key=lambda item: item.rule):
            model = route.request_model
            declared = {
                **json_type,
                "Content-Length": str(len(oversized)),
            }  # as real clients send; Quart's test client does not
            cases: dict[str, dict[str, Any]] = {"an oversized body": {"data": oversized, "headers": declared}}
            if model is not None:  # a route without a request schema ignores its body, except its size
                wrong: dict[str, Any] = {
                    (model_field.alias or name): {"unexpected": ["object"]}
                    for name, model_field in getattr(model, "model_fields", {}).items()
                } or {"unexpected": ["object"]}
                cases |= {
                    "malformed JSON": {"data": b'{"broken": ', "headers": json_type},
                    "a JSON array": {"json": [1, 2, 3]},
                    "wrong field types": {"json": wrong},
                }
            path = route.path(self._values_for(route, made))
            for label, kwargs in cases.items():
                response = await alice.request(route.method, path, **kwargs)
                if not 400 <= response.status_code < 500 or not _is_problem(response):
                    problems.append(
                        f"{route.key} with {label}: {response.status_code} {response.headers.get('Content-Type')} "
                        f"{await _text(response)}"
                    )
        assert not problems, "expected 4xx problem+json:\n" + "\n".join(problems)
