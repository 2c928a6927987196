"""Live in-app notifications: per-user queues in this process, fed through Redis pub/sub.

With Redis every process publishes a delivered in-app notification on one channel and every
server process subscribes once, handing each message to the local streams of its user, so a
notification delivered by a worker reaches a browser connected to any server. Without Redis
(the embedded mode: one process, in-memory broker) the hub dispatches directly.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import defaultdict
from collections.abc import AsyncIterator
from typing import Any

from redis.asyncio import Redis

from vetrai.core.pubsub import subscribe_forever

log = logging.getLogger("vetrai.notifications")
QUEUE_SIZE = 100


class StreamHub:
    def __init__(self, redis: Redis | None, channel: str) -> None:
        self.redis = redis
        self.channel = channel
        self.subscribers: dict[str, set[asyncio.Queue[dict[str, Any]]]] = defaultdict(set)
        self.ready = asyncio.Event()
        if redis is None:
            self.ready.set()

    @contextlib.asynccontextmanager
    async def subscribe(self, user_id: str) -> AsyncIterator[asyncio.Queue[dict[str, Any]]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(QUEUE_SIZE)
        self.subscribers[user_id].add(queue)
        try:
            yield queue
        finally:
            queues = self.subscribers.get(user_id)
            if queues is not None:
                queues.discard(queue)
                if not queues:
                    self.subscribers.pop(user_id, None)

    def dispatch(self, user_id: str, item: dict[str, Any]) -> None:
        for queue in list(self.subscribers.get(user_id, ())):
            try:
                queue.put_nowait(item)
            except asyncio.QueueFull:
                log.warning("a notification stream of user %s is not reading; dropped one event", user_id)

    async def publish(self, user_id: str, item: dict[str, Any]) -> None:
        if self.redis is None:
            self.dispatch(user_id, item)
            return
        await self.redis.publish(self.channel, json.dumps({"user_id": user_id, "item": item}, default=str))

    async def listen(self) -> None:
        """Subscribe once for this process and dispatch forever (cancelled at shutdown)."""
        assert self.redis is not None
        await subscribe_forever(
            self.redis,
            self.channel,
            self._on_message,
            on_subscribed=self.ready.set,
            on_lost=self.ready.clear,
            name="notification stream",
        )

    def _on_message(self, data: bytes) -> None:
        try:
            decoded = json.loads(data)
            self.dispatch(str(decoded["user_id"]), decoded["item"])
        except (ValueError, KeyError, TypeError):
            log.warning("ignored a malformed notification stream message")
