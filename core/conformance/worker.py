"""A taskiq worker inside the test process, for apps on the Redis stream broker.

With ``memory://`` the server runs its own tasks; with Redis a test needs a worker. This one
reads the broker's consumer group and runs each message through taskiq's
``Receiver.callback`` (the code path of ``vetrai worker``), then acknowledges it. The read
loop is ours, with a short block and a stop flag, because ``Receiver.listen`` cannot be
cancelled promptly in the middle of a stream read, which once hung a teardown for minutes.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any


@contextlib.asynccontextmanager
async def in_process_worker(platform: Any, max_async_tasks: int = 200) -> AsyncIterator[None]:
    """Consume ``platform``'s Redis stream until the block exits (teardown bounded to seconds)."""
    from redis.asyncio import Redis
    from taskiq import AckableMessage
    from taskiq.receiver import Receiver

    broker = platform.broker
    receiver = Receiver(broker, max_async_tasks=max_async_tasks, propagate_exceptions=False, run_startup=False)
    stop = asyncio.Event()
    running: set[asyncio.Task[Any]] = set()

    async def consume() -> None:
        async with Redis(connection_pool=broker.connection_pool) as redis:
            while not stop.is_set():
                fetched: Any = await redis.xreadgroup(
                    broker.consumer_group_name, broker.consumer_name, {broker.queue_name: ">"}, block=50, count=50
                )
                for stream, messages in fetched or []:
                    for message_id, fields in messages:
                        message = AckableMessage(
                            data=fields[b"data"], ack=broker._ack_generator(id=message_id, queue_name=stream)
                        )
                        task = asyncio.create_task(receiver.callback(message))
                        running.add(task)
                        task.add_done_callback(running.discard)

    consumer = asyncio.create_task(consume())
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait([consumer, *running], timeout=5)
        for task in [consumer, *running]:
            task.cancel()
