"""Nodes that plugins contribute to workflows (the ``vetrai_workflow_nodes`` hook).

A workflow package or a ``WorkflowSpec`` graph uses a plugin's node by its name without
importing the plugin: ``graph.add_node("greet", node("hello.greet"))``. Graphs are built on
their first run, in a started process, so the names resolve against the plugins enabled there;
a name no enabled plugin contributes is an error naming the ones that exist.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

from vetrai.core.errors import PluginError
from vetrai.core.hooks import WorkflowNode
from vetrai.core.platform import Slot, current_platform

if TYPE_CHECKING:
    from vetrai.core.platform import Platform

NODES: Slot[dict[str, WorkflowNode]] = Slot("workers_nodes")


class UnknownNode(LookupError):
    """No enabled plugin contributes a node of that name."""


def registry(platform: Platform | None = None) -> dict[str, WorkflowNode]:
    """Every contributed node by name, collected once per platform."""
    platform = platform or current_platform()
    found = platform.find(NODES)
    if found is not None:
        return found
    collected: dict[str, WorkflowNode] = {}
    for plugin, declared in platform.plugins.call_each("vetrai_workflow_nodes"):
        for item in declared or ():
            if not isinstance(item, WorkflowNode):
                raise PluginError(plugin, "vetrai_workflow_nodes must return WorkflowNode items")
            if item.name in collected:
                raise PluginError(plugin, f"workflow node {item.name!r} is contributed twice")
            collected[item.name] = item
    return platform.fill(NODES, collected)


def node(name: str, platform: Platform | None = None) -> Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]:
    """The callable of a contributed node, ready for ``StateGraph.add_node``."""
    nodes = registry(platform)
    try:
        return nodes[name].run
    except KeyError:
        known = ", ".join(sorted(nodes)) or "none"
        raise UnknownNode(f"no enabled plugin contributes the workflow node {name!r} (known: {known})") from None


def idempotency_key(config: Mapping[str, Any]) -> str:
    """A key for a node's side effect (a payment, an email, a ticket in another system) that is
    the same every time the node runs again for the same step of the same run, and different
    for any other run, node or step: ``<run id>:<node path>:<step>``.

    Nodes run at least once: a failed attempt is retried from the last checkpoint, and a worker
    that dies mid-node leaves that node to run again on the next attempt. Pass this key to the
    service a node calls (Stripe's ``Idempotency-Key``, a unique column) so a repeat does
    nothing twice. Call it with the ``config`` LangGraph gives the node."""
    configurable = config.get("configurable") or {}
    metadata = config.get("metadata") or {}
    run_id = configurable.get("run_id") or metadata.get("run_id")
    namespace = str(metadata.get("langgraph_checkpoint_ns") or metadata.get("langgraph_node") or "")
    path = "|".join(part.split(":", 1)[0] for part in namespace.split("|") if part)
    step = metadata.get("langgraph_step")
    if not run_id or not path or step is None:
        raise LookupError("idempotency_key() needs the config of a node of a VetrAI run")
    return f"{run_id}:{path}:{step}"
