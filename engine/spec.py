"""Workflow templates as code: the ``WorkflowSpec`` and the ``vetrai.workflows`` registry.

A distribution exposes entry points in the group ``vetrai.workflows``; each names a
``WorkflowSpec``, a plain LangGraph graph (a ``StateGraph`` or a compiled graph) or a
zero-argument factory returning either, exactly what a ``langgraph.json`` "graphs" entry may
name. ``VETRAI_LANGGRAPH_CONFIG=path/to/langgraph.json`` adds that project's graphs. vetrai's
built-ins are registered the same way in its own pyproject.toml, so ``vetrai serve`` has them
with nothing else installed.
"""

from __future__ import annotations

import logging
import os

# Checkpoints are deserialized with an allow-list of types only (set before langgraph loads).
os.environ.setdefault("LANGGRAPH_STRICT_MSGPACK", "true")


def enforce_strict_msgpack() -> bool:
    """Apply LANGGRAPH_STRICT_MSGPACK even if something imported langgraph before us."""
    import sys

    if os.environ.get("LANGGRAPH_STRICT_MSGPACK", "").lower() not in ("1", "true", "yes"):
        return False
    for name in ("langgraph.checkpoint.serde._msgpack", "langgraph._internal._serde"):
        module = sys.modules.get(name)
        if module is not None:
            module.STRICT_MSGPACK_ENABLED = True  # type: ignore[attr-defined]
    return True


enforce_strict_msgpack()

from collections.abc import Callable  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from functools import lru_cache  # noqa: E402
from importlib.metadata import entry_points  # noqa: E402
from typing import Any, Literal  # noqa: E402

from pydantic import BaseModel, ConfigDict  # noqa: E402

log = logging.getLogger("vetrai.engine")
GROUP = "vetrai.workflows"


def _identity(values: dict[str, Any]) -> dict[str, Any]:
    return values


@dataclass(frozen=True)
class WorkflowSpec:
    """One workflow: its models, a builder of the (uncompiled) LangGraph ``StateGraph``, defaults.

    ``to_state`` turns the validated input (a JSON dict) into the graph's initial state and
    ``to_output`` the final state into the output (validated against ``output_model``); both
    default to the identity. ``resume_model`` validates the value of a resume after
    ``interrupt()``. Timeouts are per attempt; a failed attempt is retried after
    ``retry_backoff_seconds * 2 ** (attempt - 1)`` up to ``max_attempts`` tries in all.
    ``priority`` is the default priority of its runs (higher first among an organization's
    waiting runs); a template's defaults or the job request may set another. ``durability`` is
    LangGraph's checkpoint durability for its runs (None: LangGraph's default, ``async``).
    """

    name: str
    version: str
    description: str
    input_model: type[BaseModel]
    output_model: type[BaseModel]
    build: Callable[[], Any]
    timeout_seconds: float = 300.0
    max_attempts: int = 3
    retry_backoff_seconds: float = 1.0
    recursion_limit: int = 50
    priority: int = 0
    durability: Literal["sync", "async", "exit"] | None = None
    resume_model: type[BaseModel] | None = None
    to_state: Callable[[dict[str, Any]], dict[str, Any]] = field(default=_identity)
    to_output: Callable[[dict[str, Any]], dict[str, Any]] = field(default=_identity)
    plain: bool = False

    def defaults(self) -> dict[str, Any]:
        return {
            "timeout_seconds": self.timeout_seconds,
            "max_attempts": self.max_attempts,
            "retry_backoff_seconds": self.retry_backoff_seconds,
            "recursion_limit": self.recursion_limit,
            "priority": self.priority,
            "durability": self.durability,
        }


class AnyObject(BaseModel):
    """Any JSON object (the input and output of a plain graph: its state)."""

    model_config = ConfigDict(extra="allow")


def _is_graph(value: Any) -> bool:
    from langgraph.graph import StateGraph
    from langgraph.pregel import Pregel

    return isinstance(value, StateGraph | Pregel)


def _uncompiled(graph: Any) -> Any:
    """The ``StateGraph`` of a graph: the engine compiles it with its own checkpointer."""
    from langgraph.graph import StateGraph

    if isinstance(graph, StateGraph):
        return graph
    builder = getattr(graph, "builder", None)
    if isinstance(builder, StateGraph):
        return builder
    raise TypeError(f"{type(graph).__name__} is not a StateGraph or a compiled StateGraph")


def plain_spec(name: str, graph: Any, description: str = "", version: str = "") -> WorkflowSpec:
    """A ``WorkflowSpec`` for a plain graph: its state in, its state out."""
    builder = _uncompiled(graph)
    return WorkflowSpec(
        name=name,
        version=version,
        description=description or f"The LangGraph graph {name!r}.",
        input_model=AnyObject,
        output_model=AnyObject,
        build=lambda: builder,
        plain=True,
    )


def _load(name: str, value: Any, version: str = "") -> WorkflowSpec:
    if isinstance(value, WorkflowSpec):
        return value
    if _is_graph(value):
        return plain_spec(name, value, version=version)
    if callable(value):
        return _load(name, value(), version)
    raise TypeError(f"expected a WorkflowSpec, a graph or a factory, got {type(value).__name__}")


def _config_graphs() -> list[tuple[str, Callable[[], Any]]]:
    """The graphs of ``VETRAI_LANGGRAPH_CONFIG`` as (graph id, loader of its target)."""
    from functools import partial

    from vetrai.engine.project import load_target, project_section

    graphs = project_section("graphs")
    found: list[tuple[str, Callable[[], Any]]] = []
    for graph_id, target in graphs.items():
        target = target["path"] if isinstance(target, dict) else target
        found.append((graph_id, partial(load_target, str(target), f"vetrai_langgraph_{graph_id}")))
    return found


@lru_cache(maxsize=1)
def workflows() -> dict[str, WorkflowSpec]:
    """Every installed workflow by name; a broken or duplicate entry point is logged and skipped."""
    found: dict[str, WorkflowSpec] = {}
    sources: list[tuple[str, str, Callable[[], Any], str]] = [
        (entry.name, entry.value, entry.load, entry.dist.version if entry.dist else "")
        for entry in sorted(
            entry_points(group=GROUP), key=lambda item: (item.dist.name if item.dist else "", item.name)
        )
    ]
    try:
        sources += [(name, f"langgraph.json:{name}", loader, "") for name, loader in _config_graphs()]
    except (OSError, ValueError):
        log.exception("VETRAI_LANGGRAPH_CONFIG could not be read")
    for name, where, loader, version in sources:
        try:
            spec = _load(name, loader(), version)
        except Exception:
            log.exception("workflow entry point %s (%s) failed to load", name, where)
            continue
        if spec.name in found:
            if not where.startswith("langgraph.json:"):
                log.error("workflow %r from %s is already registered; skipped", spec.name, where)
                continue
            # The deployment's own langgraph.json is its explicit choice: a LangGraph project's
            # "chat" graph must serve as written, not lose to a built-in of the same name.
            log.warning("graph %r from %s replaces the installed workflow of that name", spec.name, where)
        found[spec.name] = spec
    return found


def get_workflow(name: str) -> WorkflowSpec | None:
    return workflows().get(name)
