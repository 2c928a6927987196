"""Loading plugins: entry points, allow/block lists, requirements, and validated declarations.

Everything a plugin declares through its hooks is collected and checked here, once, so that a
broken or conflicting plugin stops start-up with one message naming it, instead of half-starting.
"""

from __future__ import annotations

import importlib
import inspect
import logging
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from typing import Any

import pluggy
from pluggy import HookCaller, HookImpl
from pydantic_settings import BaseSettings

from vetrai.core.config import Settings
from vetrai.core.errors import PluginError
from vetrai.core.hooks import PROJECT, BlueprintSpec, ConsolePage, ModelSpec, OutboxHandler, PluginInfo, VetraiSpecs
from vetrai.core.permissions import PermissionRegistry

PLUGIN_GROUP = "vetrai.plugins"
CORE_PLUGIN = "vetrai.core.plugin"
log = logging.getLogger("vetrai.plugins")


@dataclass
class LoadedPlugins:
    """The enabled plugins of one app, what they declared, and the one way to call their hooks.

    Every hook call goes through pluggy (so ``tryfirst``/``trylast`` and call monitoring apply),
    one implementation at a time: the core needs to know which plugin returned what, and an
    async hook's coroutines must be awaited in order. Plugins are registered in reverse
    dependency order, so pluggy's last-registered-first order is the dependency order.
    """

    manager: pluggy.PluginManager
    infos: dict[str, PluginInfo] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)
    models: dict[str, ModelSpec] = field(default_factory=dict)
    blueprints: list[tuple[str, BlueprintSpec]] = field(default_factory=list)
    permissions: PermissionRegistry = field(default_factory=PermissionRegistry)
    settings: dict[str, BaseSettings] = field(default_factory=dict)
    outbox_handlers: dict[str, OutboxHandler] = field(default_factory=dict)
    """Outbox message kind -> its handler, from ``vetrai_outbox_handlers``."""
    _callers: dict[str, tuple[tuple[HookImpl, ...], list[tuple[str, HookCaller]]]] = field(
        default_factory=dict, repr=False
    )
    console_pages: list[tuple[str, ConsolePage]] = field(default_factory=list)

    def hook_names(self, plugin_name: str) -> list[str]:
        plugin = self.manager.get_plugin(plugin_name)
        callers = self.manager.get_hookcallers(plugin) or []
        return sorted(caller.name for caller in callers)

    def implementations(self, hook_name: str) -> list[tuple[str, HookCaller]]:
        """(plugin name, a caller of that plugin's implementation alone), in call order.

        Plugins registered after loading (tests add listeners) are picked up on the next call.
        """
        caller: HookCaller = getattr(self.manager.hook, hook_name)
        impls = tuple(caller.get_hookimpls())
        cached = self._callers.get(hook_name)
        if cached is not None and cached[0] == impls:
            return cached[1]
        wrapper = next((impl for impl in impls if impl.hookwrapper or impl.wrapper), None)
        if wrapper is not None:
            raise PluginError(
                wrapper.plugin_name,
                f"{hook_name}: hook wrappers are not supported "
                "(the core calls each plugin's implementation on its own)",
            )
        plugins = self.manager.get_plugins()
        callers = [
            (impl.plugin_name, self.manager.subset_hook_caller(hook_name, plugins - {impl.plugin}))
            for impl in reversed(impls)
        ]
        self._callers[hook_name] = (impls, callers)
        return callers

    def implementers(self, hook_name: str) -> list[str]:
        """The plugins implementing a hook, in call order."""
        return [name for name, _ in self.implementations(hook_name)]

    def _selected(
        self, hook_name: str, only: Collection[str] | None, reverse: bool = False
    ) -> list[tuple[str, HookCaller]]:
        selected = [(name, call) for name, call in self.implementations(hook_name) if only is None or name in only]
        return selected[::-1] if reverse else selected

    @staticmethod
    def _one(call: HookCaller, kwargs: dict[str, Any]) -> Any:
        result = call(**kwargs)
        if call.spec is not None and call.spec.opts.get("firstresult"):
            return result
        return result[0] if result else None

    def call_each(self, hook_name: str, *, only: Collection[str] | None = None, **kwargs: Any) -> list[tuple[str, Any]]:
        """Call a synchronous hook plugin by plugin (of ``only`` if given), keeping who returned what.

        An exception becomes a ``PluginError`` naming the plugin.
        """
        results = []
        for name, call in self._selected(hook_name, only):
            try:
                results.append((name, self._one(call, kwargs)))
            except PluginError:
                raise
            except Exception as exc:
                raise PluginError(name, f"hook {hook_name} failed: {exc!r}") from exc
        return results

    async def acall_each(
        self,
        hook_name: str,
        *,
        only: Collection[str] | None = None,
        reverse: bool = False,
        log_errors: bool = False,
        **kwargs: Any,
    ) -> list[tuple[str, Any]]:
        """Call a hook plugin by plugin, awaiting each result before the next plugin runs.

        An exception becomes a ``PluginError`` naming the plugin, or with ``log_errors`` is
        logged with its traceback and the next plugin still runs (events).
        """
        results = []
        for name, call in self._selected(hook_name, only, reverse):
            try:
                result = self._one(call, kwargs)
                if inspect.isawaitable(result):
                    result = await result
            except Exception as exc:
                if log_errors:
                    log.exception("plugin %s failed in %s", name, hook_name)
                    continue
                if isinstance(exc, PluginError):
                    raise
                raise PluginError(name, f"hook {hook_name} failed: {exc!r}") from exc
            results.append((name, result))
        return results

    async def afirst_result(self, hook_name: str, **kwargs: Any) -> Any:
        """A ``firstresult`` hook: await each plugin's result in order until one is not None.

        Exceptions propagate unchanged (an authenticator's 401 problem is the answer).
        """
        caller: HookCaller = getattr(self.manager.hook, hook_name)
        if caller.spec is None or not caller.spec.opts.get("firstresult"):
            raise TypeError(f"{hook_name} is not a firstresult hook")
        for _name, call in self.implementations(hook_name):
            result = self._one(call, kwargs)
            if inspect.isawaitable(result):
                result = await result
            if result is not None:
                return result
        return None


def builtin_plugin_names() -> list[str]:
    """The plugins shipped in the vetrai distribution itself (not third-party or examples/*)."""
    return sorted(
        ep.name for ep in entry_points(group=PLUGIN_GROUP) if ep.dist is not None and ep.dist.name == "vetrai"
    )


def new_plugin_manager() -> pluggy.PluginManager:
    manager = pluggy.PluginManager(PROJECT)
    manager.add_hookspecs(VetraiSpecs)
    return manager


def _discover(settings: Settings) -> list[tuple[str, object]]:
    allow = set(settings.plugins) if settings.plugins is not None else None
    block = set(settings.disable_plugins)
    available: dict[str, EntryPoint] = {}
    ambiguous: dict[str, set[str]] = {}
    for ep in entry_points(group=PLUGIN_GROUP):
        known = available.setdefault(ep.name, ep)
        if known.value != ep.value:
            ambiguous.setdefault(ep.name, {known.value}).add(ep.value)
    if allow is not None:
        unknown = sorted(allow - set(available))
        if unknown:
            raise PluginError(
                unknown[0], f"is listed in VETRAI_PLUGINS but not installed (installed: {sorted(available)})"
            )
    chosen = []
    for name, ep in sorted(available.items()):
        if name in block or (allow is not None and name not in allow):
            continue
        if name in ambiguous:
            # Picking one would depend on install order: a replacement must take its own name.
            raise PluginError(
                name, f"is provided by more than one installed package ({', '.join(sorted(ambiguous[name]))})"
            )
        try:
            chosen.append((name, ep.load()))
        except Exception as exc:
            raise PluginError(name, f"failed to import {ep.value}: {exc!r}") from exc
    return chosen


def dependency_order(infos: Mapping[str, PluginInfo], roots: Iterable[str] | None = None) -> list[str]:
    """``roots`` (default: every plugin in ``infos``) and what they require, transitively, each
    after its requirements: the order start-up runs in and shutdown reverses. The conformance kit
    picks a test app's plugins with it, so a plugin is tested with exactly what it would load with.
    """
    order: list[str] = []
    visiting: set[str] = set()

    def visit(name: str, chain: tuple[str, ...]) -> None:
        if name in order:
            return
        if name in visiting:
            raise PluginError(name, f"circular requirement: {' -> '.join((*chain, name))}")
        visiting.add(name)
        for required in infos[name].requires:
            if required not in infos:
                raise PluginError(name, f"requires plugin {required!r}, which is not enabled")
            visit(required, (*chain, name))
        visiting.discard(name)
        order.append(name)

    names = infos if roots is None else roots
    for name in sorted(names, key=lambda name: (name != "core", name)):
        visit(name, ())
    return order


def load_plugins(settings: Settings, extra: Iterable[object] = (), *, app: bool = True) -> LoadedPlugins:
    """Discover, register and validate the enabled plugins; ``extra`` adds plugin objects.

    ``app=False`` is for the command line before it knows the command: plugins, their order
    and settings only. What the app needs (models, blueprints, permissions, outbox handlers,
    console pages) imports every route and task module, seconds of a one-line command."""
    # By name, like every other plugin: the core's own plugin mounts routes that sit above this loader.
    core_plugin = importlib.import_module(CORE_PLUGIN)
    manager = new_plugin_manager()
    candidates: list[tuple[str | None, object]] = [("core", core_plugin)]
    candidates += _discover(settings)
    candidates += [(None, obj) for obj in extra]
    infos: dict[str, PluginInfo] = {}
    objects: dict[str, object] = {}
    for registered_name, obj in candidates:
        label = registered_name or str(getattr(obj, "__name__", repr(obj)))
        info_impl = getattr(obj, "vetrai_plugin_info", None)
        if info_impl is None:
            raise PluginError(label, "does not implement vetrai_plugin_info")
        try:
            info = info_impl()
        except Exception as exc:
            raise PluginError(label, f"vetrai_plugin_info failed: {exc!r}") from exc
        if not isinstance(info, PluginInfo) or not info.name:
            raise PluginError(label, "vetrai_plugin_info must return a PluginInfo with a name")
        if registered_name and info.name != registered_name:
            raise PluginError(registered_name, f"entry point name differs from its plugin_info name {info.name!r}")
        if info.name in infos:
            raise PluginError(info.name, "is registered twice")
        infos[info.name] = info
        objects[info.name] = obj
    order = dependency_order(infos)
    # pluggy calls the last registered first: registering backwards makes its order ours.
    for name in reversed(order):
        try:
            manager.register(objects[name], name=name)
        except (ValueError, pluggy.PluginValidationError) as exc:
            raise PluginError(name, f"cannot be registered: {exc}") from exc
    try:
        manager.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginError(getattr(exc.plugin, "__name__", str(exc.plugin)), str(exc)) from exc

    loaded = LoadedPlugins(manager=manager, infos=infos, order=order)
    for hook_name in sorted(name for name in dir(VetraiSpecs) if name.startswith("vetrai_")):
        loaded.implementations(hook_name)  # refuses hook wrappers at start-up
    for name, settings_cls in loaded.call_each("vetrai_settings"):
        if settings_cls is not None:
            loaded.settings[name] = settings_cls()
    if app:
        _collect(loaded)
    return loaded


def _collect(loaded: LoadedPlugins) -> None:
    for name, spec in loaded.call_each("vetrai_models"):
        if spec is None:
            continue
        if not isinstance(spec, ModelSpec):
            raise PluginError(name, "vetrai_models must return a ModelSpec")
        if spec.app_label in loaded.models:
            raise PluginError(name, f"app label {spec.app_label!r} is already used")
        loaded.models[spec.app_label] = spec
    blueprint_owners: dict[str, str] = {}
    for name, specs in loaded.call_each("vetrai_blueprints"):
        for spec in specs or ():
            if not isinstance(spec, BlueprintSpec):
                raise PluginError(name, "vetrai_blueprints must return BlueprintSpec items")
            owner = blueprint_owners.setdefault(spec.blueprint.name, name)
            if owner != name:
                raise PluginError(name, f"blueprint name {spec.blueprint.name!r} is already used by {owner!r}")
            loaded.blueprints.append((name, spec))
    for name, permissions in loaded.call_each("vetrai_permissions"):
        for permission in permissions or ():
            loaded.permissions.add(name, permission)
    _collect_outbox_handlers(loaded)
    _collect_console_pages(loaded)


def _collect_outbox_handlers(loaded: LoadedPlugins) -> None:
    owners: dict[str, str] = {}
    for name in loaded.order:
        for _name, handlers in loaded.call_each(
            "vetrai_outbox_handlers", only={name}, settings=loaded.settings.get(name)
        ):
            for handler in handlers or ():
                if not isinstance(handler, OutboxHandler):
                    raise PluginError(name, "vetrai_outbox_handlers must return OutboxHandler items")
                if not handler.kind or not callable(handler.handler) or handler.max_attempts < 1:
                    raise PluginError(
                        name, f"outbox handler {handler.kind!r} needs a kind, a callable and max_attempts >= 1"
                    )
                if handler.kind in owners:
                    raise PluginError(
                        name, f"outbox kind {handler.kind!r} is already handled by {owners[handler.kind]!r}"
                    )
                owners[handler.kind] = name
                loaded.outbox_handlers[handler.kind] = handler


CONSOLE_PAGE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


def _collect_console_pages(loaded: LoadedPlugins) -> None:
    """Console navigation entries: unique names, a title, and either a same-site URL or a renderer."""
    owners: dict[str, str] = {}
    for name, pages in loaded.call_each("vetrai_console_pages"):
        for page in pages or ():
            if not isinstance(page, ConsolePage):
                raise PluginError(name, "vetrai_console_pages must return ConsolePage items")
            if not CONSOLE_PAGE_NAME.match(page.name or ""):
                raise PluginError(name, f"console page name {page.name!r} must match {CONSOLE_PAGE_NAME.pattern}")
            if not (page.title or "").strip():
                raise PluginError(name, f"console page {page.name!r} needs a title")
            if (page.url is None) == (page.render is None):
                raise PluginError(name, f"console page {page.name!r} needs exactly one of url and render")
            if page.url is not None and (not page.url.startswith("/") or page.url.startswith("//")):
                raise PluginError(name, f"console page {page.name!r}: url must be a path on this server")
            if page.render is not None and not callable(page.render):
                raise PluginError(name, f"console page {page.name!r}: render must be an async callable")
            owner = owners.setdefault(page.name, name)
            if owner != name or any(other.name == page.name for _plugin, other in loaded.console_pages):
                raise PluginError(name, f"console page {page.name!r} is already declared by {owner!r}")
            loaded.console_pages.append((name, page))


def describe(loaded: LoadedPlugins) -> list[dict[str, Any]]:
    """What ``GET /`` and ``vetrai plugins`` show: name, version, description, hooks."""
    return [
        {
            "name": name,
            "version": loaded.infos[name].version,
            "description": loaded.infos[name].description,
            "requires": list(loaded.infos[name].requires),
            "hooks": loaded.hook_names(name),
        }
        for name in loaded.order
    ]
