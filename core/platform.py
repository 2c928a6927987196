"""One process's running platform: settings, plugins, database, broker, Redis, storage, events.

The server (``create_app``) and a worker (``vetrai worker``) build the same Platform; only the
server mounts HTTP routes. Tests build one per app, so nothing here is module-global except
the pointer to the platform this process started last, which taskiq tasks use to find it.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import uuid
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic_settings import BaseSettings
from redis.asyncio import Redis
from taskiq import AsyncBroker

from vetrai.core import tracing
from vetrai.core.broker import build_broker, drain_in_process, is_in_process
from vetrai.core.config import Settings
from vetrai.core.db import apply_migrations, close_db, init_db, pending_migrations, tortoise_config
from vetrai.core.errors import ConfigurationError
from vetrai.core.events import EventBus
from vetrai.core.metrics import Metrics, register_plugin_metrics
from vetrai.core.plugins import LoadedPlugins, load_plugins
from vetrai.core.storage import Storage, open_storage

if TYPE_CHECKING:
    from quart import Quart

S = TypeVar("S", bound=BaseSettings)
log = logging.getLogger("vetrai.platform")
_started: Platform | None = None


class Platform:
    def __init__(self, settings: Settings, plugins: LoadedPlugins) -> None:
        self.settings = settings
        self.plugins = plugins
        self.plugin_manager = plugins.manager
        self.events = EventBus(plugins.manager)
        self.metrics = Metrics()
        self.db_config = tortoise_config(settings.resolved_database_url, plugins.models)
        self.broker: AsyncBroker = build_broker(settings)
        self.storage: Storage = open_storage(settings.resolved_storage_url)
        self.redis: Redis | None = None
        self.runs_tasks = is_in_process(self.broker)
        self.state: dict[str, Any] = {}
        """Plugins' per-process runtime objects (signers, caches, pools), keyed by plugin name."""
        self._background: list[asyncio.Task[Any]] = []
        self._started_plugins: list[str] = []
        plugins.call_each("vetrai_tasks", broker=self.broker)
        register_plugin_metrics(self.metrics, plugins)

    @classmethod
    def build(cls, settings: Settings | None = None, extra_plugins: Iterable[object] = ()) -> Platform:
        settings = settings or Settings()
        settings.resolved_secret_key  # noqa: B018 - fail early in production without secrets
        tracing.configure(settings)
        return cls(settings, load_plugins(settings, extra_plugins))

    def plugin_settings(self, name: str, expected: type[S]) -> S:
        value = self.plugins.settings.get(name)
        if not isinstance(value, expected):
            return expected()
        return value

    async def start(self, app: Quart | None = None, *, worker: bool = False) -> None:
        """Database, Redis, broker, then each plugin's startup in dependency order."""
        global _started
        if worker:
            self.runs_tasks = True
        await init_db(self.db_config)
        if self.settings.should_auto_migrate:
            await apply_migrations(self.db_config)
        else:
            pending = await pending_migrations(self.db_config)
            if pending:
                await close_db()
                raise ConfigurationError(
                    f"the database schema is behind ({', '.join(pending)}): run `vetrai migrate` "
                    "or set VETRAI_AUTO_MIGRATE=true"
                )
        redis_url = self.settings.resolved_redis_url
        if redis_url:
            self.redis = Redis.from_url(redis_url)
        if not worker:
            await self.broker.startup()
        _started = self
        try:
            for name in self.plugins.order:
                for _name, result in self.plugins.call_each("vetrai_startup", only={name}, platform=self, app=app):
                    if inspect.isawaitable(result):
                        await result
                self._started_plugins.append(name)
        except BaseException:
            # Quart runs no shutdown after a failed startup: release what was acquired here.
            await self.stop(app, worker=worker)
            raise
        if self.runs_tasks and self.plugins.schedules:
            from vetrai.core.scheduler import run_schedules

            self.spawn(run_schedules(self))

    async def stop(self, app: Quart | None = None, *, worker: bool = False) -> None:
        global _started
        for task in self._background:
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        self._background.clear()
        for _name, result in reversed(
            self.plugins.call_each("vetrai_shutdown", only=self._started_plugins, platform=self, app=app)
        ):
            if inspect.isawaitable(result):
                await result
        self._started_plugins.clear()
        if not worker:
            await drain_in_process(self.broker)
            await self.broker.shutdown()
        await self.storage.close()
        if self.redis is not None:
            await self.redis.aclose()
            self.redis = None
        await close_db()
        if _started is self:
            _started = None

    def spawn(self, coroutine: Any) -> asyncio.Task[Any]:
        """Run a background loop that ``stop`` cancels (schedulers, listeners, flushers)."""
        task = asyncio.create_task(coroutine)
        self._background.append(task)
        return task

    async def organization_is_active(self, organization_id: uuid.UUID) -> bool:
        from vetrai.core.models import Organization

        return await Organization.filter(id=organization_id, is_active=True).exists()


def current_platform() -> Platform:
    """The platform of the current app (in a request) or of this process (in a task)."""
    from quart import current_app, has_app_context

    if has_app_context() and "vetrai" in current_app.extensions:
        return current_app.extensions["vetrai"]
    if _started is None:
        raise RuntimeError("no VetrAI platform has been started in this process")
    return _started
