"""Checks of the plugin at run time: start-up and shutdown leak nothing, requests never block the loop."""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pytest

from vetrai.core.conformance.backend import release_database
from vetrai.core.conformance.checks.base import ConformanceBase
from vetrai.core.conformance.kit import Kit
from vetrai.core.conformance.resource import Resource

if TYPE_CHECKING:
    from vetrai.core.config import Settings


def _threads() -> list[str]:
    """Threads other than the event loop's default executor (its idle workers stay by design)."""
    return sorted(thread.name for thread in threading.enumerate() if not thread.name.startswith("asyncio_"))


def _fd_count() -> int | None:
    try:
        return len(os.listdir("/proc/self/fd"))
    except OSError:
        return None


class _SlowCallbacks(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message.startswith("Executing") and " took " in message:
            self.messages.append(message)


class RuntimeChecks(ConformanceBase):
    @pytest.mark.asyncio
    async def test_lifecycle(self, vetrai_settings: Settings) -> None:
        """The same app starts and stops twice; after each stop no task is left running and the database is closed; the
        second cycle leaks no thread or file descriptor.
        """
        self._check("lifecycle")
        from vetrai.core.app import create_app

        application = create_app(
            vetrai_settings, extra_plugins=(self.plugin_object,) if self.plugin_object is not None else ()
        )
        baseline_tasks = set(asyncio.all_tasks())
        counts: list[tuple[list[str], int | None]] = []
        try:
            await self._two_cycles(application, baseline_tasks, counts)
        finally:
            await release_database()
        (threads_1, fds_1), (threads_2, fds_2) = counts
        assert len(threads_2) <= len(threads_1), f"threads grew from {threads_1} to {threads_2} over a start/stop cycle"
        if fds_1 is not None and fds_2 is not None:
            assert fds_2 <= fds_1, f"open file descriptors grew from {fds_1} to {fds_2} over a start/stop cycle"

    @staticmethod
    async def _two_cycles(
        application: Any, baseline_tasks: set[Any], counts: list[tuple[list[str], int | None]]
    ) -> None:
        from tortoise import Tortoise

        for cycle in (1, 2):
            async with application.test_app() as test_app:
                response = await test_app.test_client().get("/health")
                assert response.status_code == 200, f"cycle {cycle}: /health {response.status_code}"
            # threads and descriptors a cycle releases may take a moment to go (worker threads end)
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 2.0
            while True:
                await asyncio.sleep(0.02)
                leftover = [task for task in asyncio.all_tasks() - baseline_tasks if not task.done()]
                threads = _threads()
                settled = not leftover and (cycle == 1 or len(threads) <= len(counts[0][0]))
                if settled or loop.time() > deadline:
                    break
            assert not leftover, f"cycle {cycle}: tasks still running after shutdown: {leftover}"
            assert not Tortoise._inited, f"cycle {cycle}: database connections still open after shutdown"
            counts.append((threads, _fd_count()))

    @pytest.mark.asyncio
    async def test_event_loop(self, vetrai_kit: Kit, resources: Sequence[Resource]) -> None:
        """With asyncio debug mode, no callback blocks the loop over ``slow_callback_seconds`` (0.1 s) during the
        plugin's requests (object creation and every GET route). A request counts only if it is slow in each of up to
        three passes, so a busy machine does not fail it.

        A blocking call slows the same request every time; a busy machine slows random ones. So
        a request counts as blocking only if it is slow in each of up to three passes.
        """
        self._check("event_loop")
        alice = await vetrai_kit.user(self.actor_role)
        handler = _SlowCallbacks()

        async def exercise() -> set[str]:
            slow: set[str] = set()
            made = []
            for resource in resources:
                before = len(handler.messages)
                made.append((resource, resource.values(await resource.create(vetrai_kit, alice))))
                if len(handler.messages) > before:
                    slow.add(f"create {resource.detail}")
            for route in self._routes(vetrai_kit, "event_loop", public=None, methods=["GET"]):
                before = len(handler.messages)
                await alice.get(route.path(self._values_for(route, made)))
                if len(handler.messages) > before:
                    slow.add(route.key)
            return slow

        await exercise()  # warm-up: one-time imports and caches are not what this measures
        loop = asyncio.get_running_loop()
        asyncio_log = logging.getLogger("asyncio")
        old = (loop.get_debug(), loop.slow_callback_duration, asyncio_log.level)
        asyncio_log.addHandler(handler)
        asyncio_log.setLevel(logging.WARNING)
        loop.set_debug(True)
        loop.slow_callback_duration = self.slow_callback_seconds
        try:
            blocking = await exercise()
            for _retry in range(2):
                if not blocking:
                    break
                blocking &= await exercise()
        finally:
            loop.set_debug(old[0])
            loop.slow_callback_duration = old[1]
            asyncio_log.setLevel(old[2])
            asyncio_log.removeHandler(handler)
        assert not blocking, (
            f"the event loop was blocked over {self.slow_callback_seconds}s in every pass by: {sorted(blocking)}\n"
            + "\n".join(handler.messages[-5:])
        )
