"""Domain events over the ``vetrai_event`` hook.

A plugin emits ``auth.password_reset_requested`` without knowing who sends the email; the
notifications plugin (or none) listens. A failing listener is logged and never fails the
emitter, so disabling or breaking notifications cannot break a password reset.
"""

from __future__ import annotations

import logging
import uuid
from typing import TYPE_CHECKING, Any

from vetrai.core.hooks import DomainEvent as DomainEvent

if TYPE_CHECKING:
    from vetrai.core.plugins import LoadedPlugins

log = logging.getLogger("vetrai.events")


class EventBus:
    def __init__(self, plugins: LoadedPlugins) -> None:
        self._plugins = plugins

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
        await self._plugins.acall_each("vetrai_event", log_errors=True, event=event)
        return event
