"""taskiq worker module: ``vetrai worker`` (or ``taskiq worker vetrai.entrypoints.worker:broker``).

Importing it builds the platform for this worker process; taskiq's worker events start and
stop it, so tasks find the database, Redis and storage ready.
"""

from __future__ import annotations

from taskiq import TaskiqEvents

from vetrai.core.logging import configure_logging
from vetrai.core.platform import Platform

platform = Platform.build()
configure_logging(platform.settings.log_level)
broker = platform.broker


@broker.on_event(TaskiqEvents.WORKER_STARTUP)
async def _start(_state: object) -> None:
    await platform.start(None, worker=True)


@broker.on_event(TaskiqEvents.WORKER_SHUTDOWN)
async def _stop(_state: object) -> None:
    await platform.stop(None, worker=True)
