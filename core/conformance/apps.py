"""A started test app, the one way the kit and a project's own fixtures start one."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any

from vetrai.core.conformance import backend
from vetrai.core.conformance.worker import in_process_worker

if TYPE_CHECKING:
    from vetrai.core.config import Settings


@contextlib.asynccontextmanager
async def running_app(
    settings: Settings, extra_plugins: Sequence[object] = (), *, worker: bool = False
) -> AsyncIterator[Any]:
    """A started test app (Quart's ``TestApp``, lifespan running); with ``worker`` on a Redis
    broker also a taskiq worker in this process, so tasks run as under ``vetrai worker``.

    Start-up and shutdown may take up to a minute: the first start migrates a fresh database,
    often on a shared, busy machine."""
    from quart.testing.app import TestApp

    from vetrai.core.app import create_app

    application = create_app(settings, extra_plugins=extra_plugins)
    try:
        async with TestApp(application, startup_timeout=60, shutdown_timeout=60) as test_app:
            platform = application.extensions["vetrai"]
            if worker and not platform.runs_tasks:
                async with in_process_worker(platform):
                    yield test_app
            else:
                yield test_app
    finally:
        await backend.release_database()
