"""Checks of what the plugin declares: entry point, ``PluginInfo``, hook implementations,
requirements, and models with their migrations (nothing here serves a request)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

from vetrai.core.conformance.backend import release_database
from vetrai.core.conformance.checks.base import ConformanceBase

if TYPE_CHECKING:
    from vetrai.core.config import Settings


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


class DeclarationChecks(ConformanceBase):
    def test_entry_point(self) -> None:
        """The plugin is in the ``vetrai.plugins`` entry-point group and imports."""
        self._check("entry_point")
        if self.plugin_object is not None:
            pytest.skip("tested as plugin_object, not through an entry point")
        module = self._module()
        assert hasattr(module, "vetrai_plugin_info"), f"{module.__name__} does not implement vetrai_plugin_info"

    def test_plugin_info(self) -> None:
        """``vetrai_plugin_info()`` returns a ``PluginInfo`` named like the entry point, with a PEP 440 version and a
        description.
        """
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
        """pluggy's ``check_pending()`` passes, every implementation matches a spec, no ``vetrai_*`` function lacks
        ``@hookimpl``.
        """
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
        """Required plugins are installed; every app a model's relation points at (``"auth.User"``) is in
        ``requires``.
        """
        self._check("requires")
        from importlib.metadata import entry_points

        from vetrai.core.plugins import PLUGIN_GROUP

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

    @pytest.mark.asyncio
    async def test_migrations(
        self, vetrai_settings_factory: Callable[..., Settings], vetrai_empty_database_url: str
    ) -> None:
        """On an empty database (SQLite file or a fresh Postgres database) every migration applies, the plugin's app is
        among them, nothing is pending, the models match the migrations, tables are named ``<app>_...``.
        """
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
            await release_database()
