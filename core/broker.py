"""The taskiq broker every plugin's background work goes through (engine runs, deliveries).

``memory://`` runs tasks inside the server process (nothing to install); ``redis://`` uses
taskiq-redis's stream broker, whose acknowledgements redeliver work a dead worker held.
"""

from __future__ import annotations

import asyncio

from taskiq import AsyncBroker, InMemoryBroker
from taskiq_redis import RedisStreamBroker

from vetrai.core.config import Settings


def build_broker(settings: Settings) -> AsyncBroker:
    url = settings.broker_url
    if url.startswith("memory://"):
        return InMemoryBroker(max_async_tasks=settings.worker_concurrency, propagate_exceptions=False)
    if url.startswith(("redis://", "rediss://")):
        return RedisStreamBroker(url=url, queue_name=settings.broker_queue)
    raise ValueError(f"unsupported VETRAI_BROKER_URL scheme: {url!r}")


def is_in_process(broker: AsyncBroker) -> bool:
    """True when tasks run inside the server (no separate ``vetrai worker`` needed)."""
    return isinstance(broker, InMemoryBroker)


async def drain_in_process(broker: AsyncBroker, timeout: float = 5.0) -> None:
    """Let tasks an in-process broker is running finish (cancel them after ``timeout``).

    Called by ``Platform.stop`` after the plugins' shutdown and before the database closes,
    so a task kicked just before shutdown never runs against a closed database.
    """
    running = getattr(broker, "_running_tasks", None) if isinstance(broker, InMemoryBroker) else None
    pending = [task for task in (running or ()) if not task.done()]
    if not pending:
        return
    _done, late = await asyncio.wait(pending, timeout=timeout)
    for task in late:
        task.cancel()
    await asyncio.gather(*late, return_exceptions=True)
