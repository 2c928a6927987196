"""Plugins contribute workflow nodes (``vetrai_workflow_nodes``) that graphs use by name: here
the example plugin vetrai-plugin-hello's ``hello.greet`` inside a WorkflowSpec run end to end."""

from __future__ import annotations

from typing import Any, TypedDict

import pytest
from langgraph.graph import END, START, StateGraph
from pydantic import BaseModel

from vetrai.core.errors import PluginError
from vetrai.core.hooks import PluginInfo, WorkflowNode, hookimpl
from vetrai.engine import service
from vetrai.engine.nodes import UnknownNode, node, registry
from vetrai.engine.spec import WorkflowSpec, workflows


@pytest.fixture
def settings(settings_factory):
    return settings_factory(plugins=["auth", "workers", "hello"])


class Greeting(TypedDict, total=False):
    name: str
    greeting: str
    shout: str


class GreetInput(BaseModel):
    name: str


class GreetOutput(BaseModel):
    greeting: str
    shout: str


async def _shout(state: Greeting) -> dict[str, Any]:
    return {"shout": state["greeting"].upper()}


def _build() -> StateGraph:
    graph = StateGraph(Greeting)
    graph.add_node("greet", node("hello.greet"))  # the plugin's node, by name
    graph.add_node("shout", _shout)
    graph.add_edge(START, "greet")
    graph.add_edge("greet", "shout")
    graph.add_edge("shout", END)
    return graph


@pytest.fixture
async def greeter(app):
    spec = WorkflowSpec(
        name="test_greeter",
        version="1",
        description="uses hello.greet",
        input_model=GreetInput,
        output_model=GreetOutput,
        build=_build,
    )
    workflows()[spec.name] = spec
    await service.sync_package_templates()
    yield spec
    workflows().pop(spec.name, None)


async def test_a_graph_runs_a_node_a_plugin_contributes(platform, make_user, jobs, greeter):
    assert "hello.greet" in registry(platform)
    actor = await make_user()
    job = await jobs.create(actor, "test_greeter", {"name": "Ada"})
    done = await jobs.wait(actor, job["id"], "succeeded")
    assert done["output"] == {"greeting": "Hello, Ada!", "shout": "HELLO, ADA!"}
    assert [event["node"] for event in await jobs.events(actor, job["id"]) if event["type"] == "node"] == [
        "greet",
        "shout",
    ]


async def test_an_unknown_node_names_the_known_ones(platform, app):
    with pytest.raises(UnknownNode, match=r"'hello.missing'.*known: hello.greet"):
        node("hello.missing", platform)


class Twice:
    @hookimpl
    def vetrai_plugin_info(self) -> PluginInfo:
        return PluginInfo(name="twice", version="0")

    @hookimpl
    def vetrai_workflow_nodes(self) -> list[WorkflowNode]:
        async def other(state: dict[str, Any]) -> dict[str, Any]:
            return state

        return [WorkflowNode("hello.greet", other)]


def test_two_plugins_contributing_one_name_is_an_error(settings):
    from vetrai.core.platform import Platform

    platform = Platform.build(settings, extra_plugins=[Twice()])
    with pytest.raises(PluginError, match="contributed twice"):
        registry(platform)
