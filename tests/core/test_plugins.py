"""Plugin selection and validation: the server refuses to half-start, naming the plugin."""

from __future__ import annotations

import asyncio
from importlib.metadata import EntryPoint

import pytest
from quart import Blueprint

from vetrai.core import plugins as plugin_loading
from vetrai.core.app import create_app
from vetrai.core.errors import PluginError
from vetrai.core.hooks import BlueprintSpec, ModelSpec, Permission, PluginInfo, hookimpl
from vetrai.core.plugins import load_plugins


class Plugin:
    """A minimal in-test plugin; attributes become hook implementations."""

    def __init__(self, name: str, requires: tuple[str, ...] = ()) -> None:
        self.name = name
        self.requires = requires

    @hookimpl
    def vetrai_plugin_info(self) -> PluginInfo:
        return PluginInfo(name=self.name, version="9.9", requires=self.requires)


def installed() -> set[str]:
    return {ep.name for ep in plugin_loading.entry_points(group="vetrai.plugins")}


def test_all_installed_plugins_load_by_default(settings_factory):
    loaded = load_plugins(settings_factory(plugins=None))
    assert set(loaded.infos) == installed() | {"core"}
    assert loaded.order[0] == "core"
    assert loaded.order.index("auth") < loaded.order.index("keys")


def test_allow_list_enables_only_the_named_plugins(settings_factory):
    loaded = load_plugins(settings_factory(plugins=["auth"]))
    assert set(loaded.infos) == {"core", "auth"}


def test_empty_allow_list_runs_the_core_alone(settings_factory):
    loaded = load_plugins(settings_factory(plugins=[]))
    assert list(loaded.infos) == ["core"]


def test_block_list_wins_over_the_allow_list(settings_factory):
    loaded = load_plugins(settings_factory(plugins=["auth", "keys"], disable_plugins=["keys"]))
    assert set(loaded.infos) == {"core", "auth"}


def test_env_lists_are_comma_separated(monkeypatch, settings_factory):
    monkeypatch.setenv("VETRAI_PLUGINS", "auth, keys")
    monkeypatch.setenv("VETRAI_DISABLE_PLUGINS", "keys")
    from vetrai.core.config import Settings

    settings = Settings()
    assert settings.plugins == ["auth", "keys"]
    assert settings.disable_plugins == ["keys"]


def test_unknown_plugin_in_allow_list_is_named(settings_factory):
    with pytest.raises(PluginError, match="'nope'.*not installed"):
        load_plugins(settings_factory(plugins=["nope"]))


def test_missing_requirement_is_a_clear_error(settings_factory):
    with pytest.raises(PluginError, match="'needy': requires plugin 'ghost'"):
        load_plugins(settings_factory(plugins=[]), [Plugin("needy", ("ghost",))])


def test_requirement_disabled_by_block_list_is_an_error(settings_factory):
    with pytest.raises(PluginError, match="requires plugin 'auth'"):
        load_plugins(settings_factory(plugins=["keys"]))


def test_plugin_whose_import_fails_is_named(monkeypatch, settings_factory):
    broken = EntryPoint(name="broken", value="vetrai_no_such_module_anywhere", group="vetrai.plugins")
    monkeypatch.setattr(plugin_loading, "entry_points", lambda group: [broken])
    with pytest.raises(PluginError, match="plugin 'broken': failed to import"):
        load_plugins(settings_factory(plugins=None))


def test_a_plugin_name_two_packages_provide_is_refused_unless_disabled(monkeypatch, settings_factory):
    first = EntryPoint(name="twin", value="vetrai.plugins.auth", group="vetrai.plugins")
    second = EntryPoint(name="twin", value="vetrai.plugins.keys", group="vetrai.plugins")
    monkeypatch.setattr(plugin_loading, "entry_points", lambda group: [first, second])
    with pytest.raises(
        PluginError,
        match=r"plugin 'twin': is provided by more than one installed package \(vetrai.plugins.auth, "
        r"vetrai.plugins.keys\)",
    ):
        load_plugins(settings_factory(plugins=None))
    assert load_plugins(settings_factory(plugins=None, disable_plugins=["twin"])).order == ["core"]


def test_hook_implementation_that_matches_no_spec_is_refused(settings_factory):
    class Typo(Plugin):
        @hookimpl
        def vetrai_startupp(self) -> None:
            return None

    with pytest.raises(PluginError, match="vetrai_startupp"):
        load_plugins(settings_factory(plugins=[]), [Typo("typo")])


def test_duplicate_app_label_is_refused(settings_factory):
    class Shadow(Plugin):
        @hookimpl
        def vetrai_models(self) -> ModelSpec:
            return ModelSpec(app_label="core", modules=[])

    with pytest.raises(PluginError, match="'shadow': app label 'core' is already used"):
        load_plugins(settings_factory(plugins=[]), [Shadow("shadow")])


def test_duplicate_permission_is_refused(settings_factory):
    class Thief(Plugin):
        @hookimpl
        def vetrai_permissions(self) -> list[Permission]:
            return [Permission("organizations:read", "again")]

    with pytest.raises(PluginError, match="'thief': permission 'organizations:read' is already defined by 'core'"):
        load_plugins(settings_factory(plugins=[]), [Thief("thief")])


def test_route_collision_is_refused(settings_factory):
    blueprint = Blueprint("squatter", __name__)

    @blueprint.get("/health")
    async def health() -> str:
        return "mine"

    class Squatter(Plugin):
        @hookimpl
        def vetrai_blueprints(self) -> list[BlueprintSpec]:
            return [BlueprintSpec(blueprint, "", public=True)]

    with pytest.raises(PluginError, match="route GET /health is already served by plugin 'core'"):
        create_app(settings_factory(plugins=[]), extra_plugins=[Squatter("squatter")])


def test_openapi_component_collision_is_refused(settings_factory):
    from pydantic import BaseModel
    from quart_schema import validate_response

    class OrganizationOut(BaseModel):
        different: int

    blueprint = Blueprint("collider", __name__)

    @blueprint.get("/collide")
    @validate_response(OrganizationOut)
    async def collide() -> dict:
        return {"different": 1}

    class Collider(Plugin):
        @hookimpl
        def vetrai_blueprints(self) -> list[BlueprintSpec]:
            return [BlueprintSpec(blueprint, "/api/v1/collider")]

    with pytest.raises(
        PluginError, match="'collider': OpenAPI component 'OrganizationOut' is already defined by plugin 'core'"
    ):
        create_app(settings_factory(plugins=[]), extra_plugins=[Collider("collider")])


async def test_service_info_lists_enabled_plugins_with_versions(client):
    body = await (await client.get("/")).get_json()
    names = {plugin["name"]: plugin for plugin in body["plugins"]}
    assert set(names) == {"core", "auth"}
    assert "vetrai_authenticate" in names["auth"]["hooks"]
    assert body["version"]


async def test_startup_and_shutdown_hooks_run_in_dependency_order(settings_factory):
    calls: list[str] = []

    class Recorder(Plugin):
        @hookimpl
        async def vetrai_startup(self, platform) -> None:
            calls.append(f"start:{self.name}")

        @hookimpl
        async def vetrai_shutdown(self, platform) -> None:
            calls.append(f"stop:{self.name}")

    app = create_app(settings_factory(plugins=[]), extra_plugins=[Recorder("second", ("first",)), Recorder("first")])
    async with app.test_app():
        assert calls == ["start:first", "start:second"]
    assert calls[2:] == ["stop:second", "stop:first"]


async def test_a_failed_startup_releases_what_started_and_the_next_app_starts(settings_factory):
    calls: list[str] = []

    class Lifecycle(Plugin):
        def __init__(self, name: str, requires: tuple[str, ...] = (), fail: bool = False) -> None:
            super().__init__(name, requires)
            self.fail = fail

        @hookimpl
        async def vetrai_startup(self) -> None:
            calls.append(f"start {self.name}")
            if self.fail:
                raise RuntimeError(f"{self.name} cannot start")

        @hookimpl
        async def vetrai_shutdown(self) -> None:
            calls.append(f"stop {self.name}")

    plugins = [Lifecycle("first"), Lifecycle("second", ("first",), fail=True), Lifecycle("third", ("second",))]
    async with asyncio.timeout(60):  # a database left open made the next start hang, not fail
        with pytest.raises(Exception, match="second cannot start"):
            async with create_app(settings_factory(plugins=[]), extra_plugins=plugins).test_app():
                pass
        assert calls == ["start first", "start second", "stop first"]
        async with create_app(settings_factory(plugins=[])).test_app() as test_app:
            assert (await test_app.test_client().get("/health")).status_code == 200
