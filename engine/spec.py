"""Workflow templates as code: the ``WorkflowSpec`` and the ``vetrai.workflows`` registry.

A distribution exposes entry points in the group ``vetrai.workflows``; each names either a
``WorkflowSpec`` or a zero-argument factory returning one. vetrai's built-ins are registered
the same way in its own pyproject.toml, so ``vetrai serve`` has them with nothing else installed.
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
from typing import Any  # noqa: E402

from pydantic import BaseModel  # noqa: E402

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
    resume_model: type[BaseModel] | None = None
    to_state: Callable[[dict[str, Any]], dict[str, Any]] = field(default=_identity)
    to_output: Callable[[dict[str, Any]], dict[str, Any]] = field(default=_identity)

    def defaults(self) -> dict[str, Any]:
        return {
            "timeout_seconds": self.timeout_seconds,
            "max_attempts": self.max_attempts,
            "retry_backoff_seconds": self.retry_backoff_seconds,
            "recursion_limit": self.recursion_limit,
        }


def _load(value: Any) -> WorkflowSpec:
    spec = value() if callable(value) and not isinstance(value, WorkflowSpec) else value
    if not isinstance(spec, WorkflowSpec):
        raise TypeError(f"expected a WorkflowSpec, got {type(spec).__name__}")
    return spec


@lru_cache(maxsize=1)
def workflows() -> dict[str, WorkflowSpec]:
    """Every installed workflow by name; a broken or duplicate entry point is logged and skipped."""
    found: dict[str, WorkflowSpec] = {}
    for entry in sorted(entry_points(group=GROUP), key=lambda item: (item.dist.name if item.dist else "", item.name)):
        try:
            spec = _load(entry.load())
        except Exception:
            log.exception("workflow entry point %s (%s) failed to load", entry.name, entry.value)
            continue
        if spec.name in found:
            log.error("workflow %r from %s is already registered; skipped", spec.name, entry.value)
            continue
        found[spec.name] = spec
    return found


def get_workflow(name: str) -> WorkflowSpec | None:
    return workflows().get(name)
