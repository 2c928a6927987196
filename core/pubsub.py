"""One way to listen to a Redis channel for the life of a process (cache invalidations,
cross-process cancels, live notification streams).

A subscription can drop (Redis restarts, a network blip); the loop resubscribes. Listeners
that cache use ``on_subscribed``/``on_lost`` to stop trusting their cache while they are deaf.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from redis.asyncio import Redis

log = logging.getLogger("vetrai.pubsub")


async def subscribe_forever(
    redis: Redis,
    channel: str,
    on_message: Callable[[bytes], None],
    *,
    on_subscribed: Callable[[], None] | None = None,
    on_lost: Callable[[], None] | None = None,
    name: str = "subscription",
) -> None:
    """Call ``on_message`` with each message's data until cancelled, resubscribing when lost."""
    task = asyncio.current_task()
    while True:
        pubsub = redis.pubsub()
        try:
            await pubsub.subscribe(channel)
            while True:
                message = await pubsub.get_message(timeout=0.5)
                # redis-py can swallow a cancellation while reading; honour it here.
                if task is not None and task.cancelling():
                    raise asyncio.CancelledError
                if message is None:
                    continue
                if message["type"] == "subscribe" and on_subscribed is not None:
                    on_subscribed()
                elif message["type"] == "message":
                    on_message(message["data"])
        except asyncio.CancelledError:
            raise
        except Exception:
            log.warning("%s lost; resubscribing", name, exc_info=True)
        finally:
            if on_lost is not None:
                on_lost()
            with contextlib.suppress(Exception):
                await pubsub.aclose()  # type: ignore[no-untyped-call]
        await asyncio.sleep(0.5)
