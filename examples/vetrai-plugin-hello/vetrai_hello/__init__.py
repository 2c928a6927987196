"""Greetings: a third-party VetrAI plugin (hook implementations only; see docs/plugins.md)."""

from __future__ import annotations

from typing import Any

import click

from vetrai.core.hooks import BlueprintSpec, ModelSpec, Permission, PluginInfo, WorkflowNode, hookimpl, register_tasks
from vetrai.core.permissions import ROLES

__version__ = "0.1.0"


@hookimpl
def vetrai_plugin_info() -> PluginInfo:
    return PluginInfo(
        name="hello", version=__version__, description="Greetings per organization (example plugin)", requires=("auth",)
    )


@hookimpl
def vetrai_settings() -> type:
    from vetrai_hello.settings import HelloSettings

    return HelloSettings


@hookimpl
def vetrai_models() -> ModelSpec:
    return ModelSpec.of("hello", "vetrai_hello")


@hookimpl
def vetrai_blueprints() -> list[BlueprintSpec]:
    from vetrai_hello import routes

    return [BlueprintSpec(routes.blueprint, "/api/v1/hello", tags=["hello"])]


@hookimpl
def vetrai_permissions() -> list[Permission]:
    return [
        Permission("hello:read", "List and read your organization's greetings", roles=ROLES),
        Permission("hello:write", "Create, change and delete greetings", roles=ROLES),
    ]


@hookimpl
async def vetrai_startup(platform: Any) -> None:
    from vetrai_hello import service

    platform.fill(service.RUNTIME, service.HelloRuntime())


@hookimpl
async def vetrai_shutdown(platform: Any) -> None:
    from vetrai_hello import service

    platform.release(service.RUNTIME)


@hookimpl
async def vetrai_event(event: Any) -> None:
    """Every new user gets a welcome greeting in their organization."""
    if event.name != "auth.user_registered" or event.organization_id is None:
        return
    from vetrai.core.platform import current_platform
    from vetrai_hello import service
    from vetrai_hello.settings import HelloSettings

    template = current_platform().plugin_settings("hello", HelloSettings).welcome_message
    await service.welcome(event.organization_id, event.data.get("email", ""), template)


@hookimpl
def vetrai_tasks(broker: Any) -> None:
    from vetrai_hello import tasks

    register_tasks(broker, tasks.TASKS)


@hookimpl
def vetrai_workflow_nodes() -> list[WorkflowNode]:
    async def greet(state: dict[str, Any]) -> dict[str, Any]:
        return {"greeting": f"Hello, {state.get('name', 'world')}!"}

    return [WorkflowNode("hello.greet", greet, description="Adds a greeting for state['name']")]


@hookimpl
def vetrai_cli(group: click.Group) -> None:
    @group.command("hello")
    @click.option("--name", default="world", help="Who to greet.")
    def hello(name: str) -> None:
        """Print a greeting (an example of a plugin subcommand)."""
        click.echo(f"Hello, {name}!")
