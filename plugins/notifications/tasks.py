"""The notifications plugin's taskiq tasks (delivery and its requeue schedule)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from vetrai.core.hooks import HookPlatform, Schedule
from vetrai.plugins.notifications import delivery
from vetrai.plugins.notifications.settings import NotificationsSettings

DELIVER = "notifications.deliver"
REQUEUE = "notifications.requeue"

TASKS: dict[str, Callable[..., Awaitable[Any]]] = {DELIVER: delivery.deliver, REQUEUE: delivery.requeue}


def schedules(platform: HookPlatform) -> list[Schedule]:
    return [Schedule(REQUEUE, platform.plugin_settings("notifications", NotificationsSettings).requeue_seconds)]
