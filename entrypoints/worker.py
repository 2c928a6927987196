"""taskiq worker module: ``vetrai worker`` (or ``taskiq worker vetrai.entrypoints.worker:broker``).

Importing it builds the platform for this worker process; taskiq's worker events start and
stop it, so tasks find the database, Redis and storage ready. On SIGTERM/SIGINT, before
taskiq waits for its running tasks, every runtime object in ``platform.state`` that has an
async ``drain()`` (the engine's) is drained, so long runs stop at once, release their lease
and are re-queued instead of holding the shutdown (or being cut off) until they end.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import Any

from taskiq import TaskiqEvents

from vetrai.core.logging import configure_logging
from vetrai.core.platform import Platform

platform = Platform.build()
configure_logging(platform.settings.log_level, platform.settings.log_format, platform.settings.env)
broker = platform.broker
log = logging.getLogger("vetrai.worker")
_draining: set[asyncio.Task[None]] = set()


async def _drain() -> None:
    for name, runtime in list(platform.state.items()):
        drain = getattr(runtime, "drain", None)
        if drain is not None and asyncio.iscoroutinefunction(drain):
            try:
                await drain()
            except Exception:
                log.exception("draining %s failed", name)


def _chain_stop_signals(loop: asyncio.AbstractEventLoop) -> None:
    """Run ``_drain`` on the loop, then taskiq's own handler (which stops the receiver)."""
    for signum in (signal.SIGTERM, signal.SIGINT):
        previous = signal.getsignal(signum)

        def handler(number: int, frame: Any, previous: Any = previous) -> None:
            loop.call_soon_threadsafe(lambda: _draining.add(loop.create_task(_drain())))
            if callable(previous):
                previous(number, frame)

        signal.signal(signum, handler)


@broker.on_event(TaskiqEvents.WORKER_STARTUP)
async def _start(_state: object) -> None:
    await platform.start(None, worker=True)
    _chain_stop_signals(asyncio.get_running_loop())


@broker.on_event(TaskiqEvents.WORKER_SHUTDOWN)
async def _stop(_state: object) -> None:
    await platform.stop(None, worker=True)
