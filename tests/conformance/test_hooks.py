"""One test per hook spec: a plugin object implementing every hook, run in a real app.

``tests/core/test_hooks_documented.py`` requires a test whose name contains each hook's name;
these are they. The test plugin is registered with ``extra_plugins`` (as a third-party plugin
would be through its entry point); ``vetrai_models`` and ``vetrai_cli`` use the installed
example plugin ``hello`` (examples/vetrai-plugin-hello), which ships a migration and a command.
"""

from __future__ import annotations

import asyncio
import uuid
from importlib.metadata import entry_points
from typing import Any

import click
import pytest
from click.testing import CliRunner
from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from quart import Blueprint
from quart_schema import validate_response

from vetrai.core.auth import Principal, bearer_token, current_principal
from vetrai.core.hooks import (
    BlueprintSpec,
    NotificationChannel,
    Permission,
    PluginInfo,
    Schedule,
    WorkflowNode,
    hookimpl,
)
from vetrai.core.openapi import public
from vetrai.core.permissions import USER

HELLO_INSTALLED = "hello" in {ep.name for ep in entry_points(group="vetrai.plugins")}
SECRET = "hookcheck-" + uuid.uuid4().hex


class HookcheckSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="VETRAI_HOOKCHECK_", extra="ignore")

    greeting: str = Field("hi", description="What the test plugin says.")


class HookcheckWho(BaseModel):
    kind: str
    role: str


def build_blueprint() -> Blueprint:
    blueprint = Blueprint("hookcheck", __name__)

    @blueprint.get("/open")
    @public
    @validate_response(HookcheckWho)
    async def open_route() -> dict:
        """Public."""
        return {"kind": "anonymous", "role": ""}

    @blueprint.get("/who")
    @validate_response(HookcheckWho)
    async def who() -> dict:
        """Who is calling."""
        principal = await current_principal()
        return {"kind": principal.kind, "role": principal.role}

    return blueprint


class HookPlugin:
    """Implements every hook and records what the core did with it."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.events: list[Any] = []
        self.ticks = 0
        self.blueprint = build_blueprint()

    @hookimpl
    def vetrai_plugin_info(self) -> PluginInfo:
        return PluginInfo(name="hookcheck", version="2.0.1", description="exercises every hook", requires=("auth",))

    @hookimpl
    def vetrai_settings(self) -> type[HookcheckSettings]:
        return HookcheckSettings

    @hookimpl
    def vetrai_models(self) -> None:
        return None

    @hookimpl
    def vetrai_blueprints(self) -> list[BlueprintSpec]:
        return [BlueprintSpec(self.blueprint, "/api/v1/hookcheck", tags=["hookcheck"])]

    @hookimpl
    def vetrai_permissions(self) -> list[Permission]:
        return [Permission("hookcheck:read", "Read hookcheck things", roles=(USER,))]

    @hookimpl
    async def vetrai_authenticate(self, request: Any) -> Principal | None:
        if bearer_token() != SECRET:
            return None
        return Principal(user_id=None, organization_id=None, role="super_admin", scopes=frozenset(), kind="system")

    @hookimpl
    def vetrai_tasks(self, broker: Any) -> None:
        async def double(value: int) -> int:
            return value * 2

        async def tick() -> None:
            self.ticks += 1

        broker.register_task(double, task_name="hookcheck.double")
        broker.register_task(tick, task_name="hookcheck.tick")

    @hookimpl
    def vetrai_schedules(self) -> list[Schedule]:
        return [Schedule("hookcheck.tick", 0.05)]

    @hookimpl
    async def vetrai_startup(self, platform: Any, app: Any) -> None:
        self.calls.append(("startup", app))
        platform.state["hookcheck"] = "started"

    @hookimpl
    async def vetrai_shutdown(self, platform: Any, app: Any) -> None:
        self.calls.append(("shutdown", app))

    @hookimpl
    async def vetrai_event(self, event: Any) -> None:
        if event.name == "hookcheck.boom":
            raise RuntimeError("a broken listener")
        self.events.append(event)

    @hookimpl
    def vetrai_notification_channels(self) -> list[NotificationChannel]:
        async def send(message: Any) -> None:
            self.calls.append(("sent", message))

        return [NotificationChannel("hookcheck", send, "records messages")]

    @hookimpl
    def vetrai_workflow_nodes(self) -> list[WorkflowNode]:
        async def shout(state: dict[str, Any]) -> dict[str, Any]:
            return {"text": str(state.get("text", "")).upper()}

        return [WorkflowNode("hookcheck.shout", shout, "upper-cases state['text']")]

    @hookimpl
    def vetrai_cli(self, group: click.Group) -> None:
        @group.command("hookcheck")
        def hookcheck() -> None:
            """Say the test plugin's greeting."""
            click.echo("hookcheck says hi")


@pytest.fixture
def hook_plugin() -> HookPlugin:
    return HookPlugin()


@pytest.fixture
def vetrai_plugins() -> list[str]:
    return ["auth", "keys", *(["hello"] if HELLO_INSTALLED else [])]


@pytest.fixture
def vetrai_extra_plugins(hook_plugin: HookPlugin) -> tuple[object, ...]:
    return (hook_plugin,)


async def test_vetrai_plugin_info_is_listed_with_its_hooks(vetrai_client):
    body = await (await vetrai_client.get("/")).get_json()
    listed = {plugin["name"]: plugin for plugin in body["plugins"]}
    assert listed["hookcheck"]["version"] == "2.0.1"
    assert listed["hookcheck"]["requires"] == ["auth"]
    assert "vetrai_event" in listed["hookcheck"]["hooks"]


def test_vetrai_settings_reads_the_plugins_env_prefix(monkeypatch, vetrai_settings_factory):
    from vetrai.core.platform import Platform

    monkeypatch.setenv("VETRAI_HOOKCHECK_GREETING", "bonjour")
    platform = Platform.build(vetrai_settings_factory(plugins=["auth"]), (HookPlugin(),))
    assert platform.plugin_settings("hookcheck", HookcheckSettings).greeting == "bonjour"


@pytest.mark.skipif(not HELLO_INSTALLED, reason="pip install -e examples/vetrai-plugin-hello")
async def test_vetrai_models_tables_are_migrated_and_usable(vetrai_app, vetrai_platform):
    from vetrai_hello.models import Greeting

    assert vetrai_platform.plugins.models["hello"].migrations == "vetrai_hello.migrations"
    organization = await vetrai_platform_org(vetrai_app)
    async with vetrai_app.app.app_context():
        await Greeting.create(organization_id=organization.id, message="stored")
        assert await Greeting.filter(organization_id=organization.id).count() == 1


async def vetrai_platform_org(test_app: Any) -> Any:
    from vetrai.core.organizations.service import create_organization

    async with test_app.app.app_context():
        return await create_organization(f"Org {uuid.uuid4().hex[:6]}")


async def test_vetrai_blueprints_mount_public_and_protected_routes(vetrai_client, vetrai_make_user):
    assert (await vetrai_client.get("/api/v1/hookcheck/open")).status_code == 200
    assert (await vetrai_client.get("/api/v1/hookcheck/who")).status_code == 401
    alice = await vetrai_make_user("user")
    assert await (await alice.get("/api/v1/hookcheck/who")).get_json() == {"kind": "user", "role": "user"}
    document = await (await vetrai_client.get("/openapi.json")).get_json()
    assert document["paths"]["/api/v1/hookcheck/who"]["get"]["tags"] == ["hookcheck"]


async def test_vetrai_permissions_give_roles_their_scopes(vetrai_platform, vetrai_api_key, vetrai_make_user):
    registry = vetrai_platform.plugins.permissions
    assert "hookcheck:read" in registry.scopes_for_role(USER)
    assert "hookcheck:read" not in registry.scopes_for_role("billing_admin")
    user = await vetrai_make_user("user")
    key = await vetrai_api_key(scopes=["hookcheck:read"], user=user)
    assert key.scopes == ["hookcheck:read"]
    billing = await vetrai_make_user("billing_admin", organization=user.organization)
    refused = await billing.post("/api/v1/keys", json={"name": "k", "scopes": ["hookcheck:read"]})
    assert refused.status_code == 403


async def test_vetrai_authenticate_adds_a_credential_type(vetrai_client):
    who = await vetrai_client.get("/api/v1/hookcheck/who", headers={"Authorization": f"Bearer {SECRET}"})
    assert await who.get_json() == {"kind": "system", "role": "super_admin"}
    wrong = await vetrai_client.get("/api/v1/hookcheck/who", headers={"Authorization": "Bearer hookcheck-wrong"})
    assert wrong.status_code == 401


async def test_vetrai_tasks_are_registered_on_the_broker(vetrai_platform):
    task = vetrai_platform.broker.find_task("hookcheck.double")
    assert task is not None
    if vetrai_platform.runs_tasks:  # in-memory broker: the task runs in this process
        result = await (await task.kiq(21)).wait_result(timeout=5)
        assert result.return_value == 42
    else:  # Redis broker: workers run it; the function itself is what they call
        assert await task.original_func(21) == 42


@pytest.mark.backend("sqlite")  # with the Redis broker schedules run in `vetrai worker` processes
async def test_vetrai_schedules_run_the_periodic_task(vetrai_platform, hook_plugin):
    assert ("hookcheck", Schedule("hookcheck.tick", 0.05)) in vetrai_platform.schedules
    for _ in range(100):
        if hook_plugin.ticks >= 2:
            break
        await asyncio.sleep(0.02)
    assert hook_plugin.ticks >= 2


async def test_vetrai_startup_and_vetrai_shutdown_are_awaited_with_the_app(vetrai_settings, hook_plugin):
    from vetrai.core.app import create_app

    app = create_app(vetrai_settings, extra_plugins=(hook_plugin,))
    async with app.test_app():
        assert [name for name, _ in hook_plugin.calls] == ["startup"]
        assert hook_plugin.calls[0][1] is app
        assert app.extensions["vetrai"].state["hookcheck"] == "started"
    assert [name for name, _ in hook_plugin.calls] == ["startup", "shutdown"]


async def test_vetrai_event_receives_events_and_a_failing_listener_never_reaches_the_emitter(
    vetrai_platform, hook_plugin
):
    organization_id = uuid.uuid4()
    event = await vetrai_platform.events.emit("hookcheck.ping", {"n": 1}, organization_id=organization_id)
    assert hook_plugin.events == [event]
    assert (event.name, event.data, event.organization_id) == ("hookcheck.ping", {"n": 1}, organization_id)
    await vetrai_platform.events.emit("hookcheck.boom")  # raises inside the listener only


async def test_vetrai_notification_channels_are_collected_and_callable(vetrai_platform, hook_plugin):
    channels = {name: declared for name, declared in vetrai_platform.plugins.call_each("vetrai_notification_channels")}
    channel = channels["hookcheck"][0]
    assert isinstance(channel, NotificationChannel) and channel.name == "hookcheck"
    await channel.send("a message")
    assert ("sent", "a message") in hook_plugin.calls


async def test_vetrai_workflow_nodes_are_collected_and_runnable(vetrai_platform):
    nodes = {
        node.name: node
        for _, declared in vetrai_platform.plugins.call_each("vetrai_workflow_nodes")
        for node in declared
    }
    assert await nodes["hookcheck.shout"].run({"text": "quiet"}) == {"text": "QUIET"}


@pytest.mark.skipif(not HELLO_INSTALLED, reason="pip install -e examples/vetrai-plugin-hello")
def test_vetrai_cli_adds_a_subcommand_to_the_installed_command(monkeypatch, tmp_path):
    """The real `vetrai` entry point loads plugins (here the example's ``hello``) before parsing."""
    from vetrai.entrypoints import cli

    monkeypatch.setenv("VETRAI_PLUGINS", "auth,hello")
    monkeypatch.setenv("VETRAI_DATA_DIR", str(tmp_path))
    monkeypatch.setattr("sys.argv", ["vetrai", "hello", "--name", "Ada"])
    runner = CliRunner()
    with runner.isolation() as (out, _err, *_):
        with pytest.raises(SystemExit) as exited:
            cli.main()
    assert exited.value.code == 0
    assert out.getvalue().decode() == "Hello, Ada!\n"
    group = click.Group("vetrai")
    HookPlugin().vetrai_cli(group)
    assert CliRunner().invoke(group, ["hookcheck"]).output == "hookcheck says hi\n"
