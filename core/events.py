"""Domain events over the ``vetrai_event`` hook.

A plugin emits ``auth.password_reset_requested`` without knowing who sends the email; the
notifications plugin (or none) listens. A failing listener is logged and never fails the
emitter, so disabling or breaking notifications cannot break a password reset.
"""

from __future__ import annotations

import inspect
import logging
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pluggy

log = logging.getLogger("vetrai.events")


@dataclass(frozen=True)
class DomainEvent:
    name: str
    data: dict[str, Any] = field(default_factory=dict)
    organization_id: uuid.UUID | None = None
    actor_id: uuid.UUID | None = None
    id: uuid.UUID = field(default_factory=uuid.uuid4)
    occurred_at: datetime = field(default_factory=lambda: datetime.now(UTC))


class EventBus:
    def __init__(self, manager: pluggy.PluginManager) -> None:
        self._manager = manager

    async def emit(
        self,
        name: str,
        data: dict[str, Any] | None = None,
        *,
        organization_id: uuid.UUID | None = None,
        actor_id: uuid.UUID | None = None,
    ) -> DomainEvent:
        event = DomainEvent(name, data or {}, organization_id, actor_id)
        log.info("event %s", name, extra={"event": name, "event_id": str(event.id)})
        for impl in self._manager.hook.vetrai_event.get_hookimpls():
            try:
                result = impl.function(event=event)
                if inspect.isawaitable(result):
                    await result
            except Exception:
                log.exception("listener %s failed on %s", impl.plugin_name, name)
        return event
