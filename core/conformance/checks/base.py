"""What every group of checks shares: the class attributes a plugin's test sets, its fixtures,
and the helpers that pick routes and make objects."""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

import pytest
import pytest_asyncio

from vetrai.core.conformance.apps import running_app
from vetrai.core.conformance.kit import WRITE_METHODS, Kit, KitUser, Route
from vetrai.core.conformance.resource import Resource
from vetrai.core.hooks import PluginInfo

if TYPE_CHECKING:
    from vetrai.core.config import Settings

PROBLEM_JSON = "application/problem+json"


async def response_text(response: Any) -> str:
    text: str = (await response.get_data(as_text=True)).strip()
    return text if len(text) < 300 else text[:300] + "..."


def is_problem(response: Any) -> bool:
    return str(response.headers.get("Content-Type", "")).startswith(PROBLEM_JSON)


class _InstalledInfos(Mapping[str, PluginInfo]):
    """The ``PluginInfo`` of the core, every installed plugin and ``extra``, each plugin imported
    only when asked for (a broken plugin nobody requires does not break another plugin's tests)."""

    def __init__(self, extra: Sequence[PluginInfo] = ()) -> None:
        from importlib.metadata import entry_points

        from vetrai.core.plugins import CORE_PLUGIN, PLUGIN_GROUP

        self._loaders: dict[str, Callable[[], Any]] = {"core": partial(importlib.import_module, CORE_PLUGIN)}
        self._loaders |= {ep.name: ep.load for ep in entry_points(group=PLUGIN_GROUP)}
        self._loaded: dict[str, PluginInfo] = {info.name: info for info in extra}

    def __getitem__(self, name: str) -> PluginInfo:
        if name not in self._loaded:
            self._loaded[name] = self._loaders[name]().vetrai_plugin_info()
        return self._loaded[name]

    def __contains__(self, name: object) -> bool:
        return name in self._loaders or name in self._loaded

    def __iter__(self) -> Iterator[str]:
        return iter(self._loaders.keys() | self._loaded.keys())

    def __len__(self) -> int:
        return len(self._loaders.keys() | self._loaded.keys())


class ConformanceBase:
    """The settings and helpers of ``PluginConformance`` (its checks are in the sibling modules)."""

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

    @pytest_asyncio.fixture
    async def vetrai_app(
        self, vetrai_settings: Settings, vetrai_extra_plugins: tuple[object, ...], vetrai_worker: bool
    ) -> AsyncIterator[Any]:
        """The kit's app on exactly the plugins this class enables, even where the project's
        conftest hands its own app to the kit's other fixtures."""
        async with running_app(vetrai_settings, vetrai_extra_plugins, worker=vetrai_worker) as test_app:
            yield test_app

    @pytest.fixture
    def resources(self) -> Sequence[Resource]:
        """Override to make the plugin's objects (it may use any fixture)."""
        return list(self.resource_list)

    # ------------------------------------------------------------------ helpers
    def enabled_plugins(self) -> list[str]:
        """The plugin, what it requires (transitively) and ``with_plugins``, if installed."""
        from vetrai.core.plugins import dependency_order

        if self.plugin_object is not None:
            info = self.plugin_object.vetrai_plugin_info()
            infos = _InstalledInfos(extra=[info])
            roots = [name for name in self.with_plugins if name in infos]
            order = [name for name in dependency_order(infos, [info.name, *roots]) if name != info.name]
            return sorted(set(order) - {"core"})
        infos = _InstalledInfos()
        roots = [name for name in self.with_plugins if name in infos]
        if self.plugin in infos:
            order = dependency_order(infos, [self.plugin, *roots])
        else:
            order = [self.plugin, *dependency_order(infos, roots)]  # the app then names the missing plugin
        return sorted(set(order) - {"core"})

    def _validate_skip(self) -> None:
        known = sorted(name.removeprefix("test_") for name in dir(type(self)) if name.startswith("test_"))
        assert self.plugin, f"{type(self).__name__} must set plugin = '<name>'"
        for key, reason in self.skip.items():
            check = key.split(":", 1)[0]
            assert check in known, f"skip names unknown check {check!r} (known: {', '.join(known)})"
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

        from vetrai.core.plugins import PLUGIN_GROUP

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
