"""One process's running platform: settings, plugins, database, broker, Redis, storage, events.

The server (``create_app``) and a worker (``vetrai worker``) build the same Platform; only the
server mounts HTTP routes. Tests build one per app, so nothing here is module-global except
the pointer to the platform this process started last, which taskiq tasks use to find it.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import uuid
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

from pydantic_settings import BaseSettings
from redis.asyncio import Redis
from taskiq import AsyncBroker

from vetrai.core import tracing
from vetrai.core.broker import build_broker, drain_in_process, is_in_process
from vetrai.core.config import Settings
from vetrai.core.db import apply_migrations, close_db, init_db, pending_migrations, tortoise_config
from vetrai.core.errors import ConfigurationError
from vetrai.core.events import EventBus
from vetrai.core.hooks import Schedule
from vetrai.core.metrics import Metrics, register_plugin_metrics
from vetrai.core.plugins import LoadedPlugins, load_plugins
from vetrai.core.scheduler import run_schedules
from vetrai.core.storage import Storage, open_storage

if TYPE_CHECKING:
    from quart import Quart

S = TypeVar("S", bound=BaseSettings)
T = TypeVar("T")
log = logging.getLogger("vetrai.platform")
_started: Platform | None = None


class PluginNotStarted(RuntimeError):
    """A plugin's runtime object was asked for before its ``vetrai_startup`` filled it."""


class Slot(Generic[T]):
    """One plugin's typed runtime object in a platform (clients, caches, signers).

    Declared once next to the type it holds, ``RUNTIME: Slot[AuthRuntime] = Slot("auth")``,
    filled by the plugin's ``vetrai_startup`` with ``platform.fill(RUNTIME, ...)`` and read
    with ``platform.get(RUNTIME)`` (started) or ``platform.find(RUNTIME)`` (maybe not).
    """

    def __init__(self, plugin: str) -> None:
        self.plugin = plugin

    def __repr__(self) -> str:
        return f"Slot({self.plugin!r})"


class Platform:
    def __init__(self, settings: Settings, plugins: LoadedPlugins) -> None:
        self.settings = settings
        self.plugins = plugins
        self.plugin_manager = plugins.manager
        self.events = EventBus(plugins)
        self.metrics = Metrics()
        self.db_config = tortoise_config(settings.resolved_database_url, plugins.models)
        self.broker: AsyncBroker = build_broker(settings)
        self.storage: Storage = open_storage(settings.resolved_storage_url)
        self.redis: Redis | None = None
        self.runs_tasks = is_in_process(self.broker)
        self.state: dict[str, Any] = {}
        """The values behind the slots, keyed by plugin name; plugins use ``fill``/``get``."""
        self._background: list[asyncio.Task[Any]] = []
        self._pending_work: set[asyncio.Task[Any]] = set()
        self._start_context: contextvars.Context | None = None
        self.stopping = False
        """True from the start of ``stop``: a task that outlives the plugins' shutdown (the
        in-process broker drains after it) must not acquire what they released."""
        self._started_plugins: list[str] = []
        plugins.call_each("vetrai_tasks", broker=self.broker)
        register_plugin_metrics(self.metrics, plugins)
        self.schedules: list[tuple[str, Schedule]] = [
            (name, schedule)
            for name, schedules in plugins.call_each("vetrai_schedules", platform=self)
            for schedule in schedules or ()
        ]
        """(plugin, schedule) of every ``vetrai_schedules`` declaration, read once when built."""

    @classmethod
    def build(cls, settings: Settings | None = None, extra_plugins: Iterable[object] = ()) -> Platform:
        settings = settings or Settings()
        settings.resolved_secret_key  # noqa: B018 - fail early in production without secrets
        tracing.configure(settings)
        return cls(settings, load_plugins(settings, extra_plugins))

    def plugin_settings(self, name: str, expected: type[S]) -> S:
        """The settings the plugin declared, read once when plugins loaded."""
        value = self.plugins.settings.get(name)
        if not isinstance(value, expected):
            return expected()
        return value

    def fill(self, slot: Slot[T], value: T) -> T:
        """Set a plugin's runtime object (in its ``vetrai_startup``)."""
        self.state[slot.plugin] = value
        return value

    def get(self, slot: Slot[T]) -> T:
        """A started plugin's runtime object; ``PluginNotStarted`` before its startup."""
        try:
            return cast(T, self.state[slot.plugin])
        except KeyError:
            raise PluginNotStarted(f"the {slot.plugin} plugin is not started in this process") from None

    def find(self, slot: Slot[T]) -> T | None:
        """The runtime object, or None when the plugin is disabled or not started (listeners, signals)."""
        return cast(T | None, self.state.get(slot.plugin))

    def release(self, slot: Slot[T]) -> T | None:
        """Empty a slot (in ``vetrai_shutdown``), returning what it held."""
        return cast(T | None, self.state.pop(slot.plugin, None))

    async def start(self, app: Quart | None = None, *, worker: bool = False) -> None:
        """Database, Redis, broker, then each plugin's startup in dependency order."""
        global _started
        self.stopping = False
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
        self._start_context = contextvars.copy_context()
        redis_url = self.settings.resolved_redis_url
        if redis_url:
            self.redis = Redis.from_url(redis_url)
        if not worker:
            await self.broker.startup()
        _started = self
        starting = self.plugins.implementers("vetrai_startup")
        # A plugin without a startup hook has nothing to wait for: its shutdown always runs.
        self._started_plugins = [name for name in self.plugins.order if name not in starting]
        try:
            for name in starting:
                await self.plugins.acall_each("vetrai_startup", only={name}, platform=self, app=app)
                self._started_plugins.append(name)
        except BaseException:
            # Quart runs no shutdown after a failed startup: release what was acquired here.
            await self.stop(app, worker=worker)
            raise
        if self.runs_tasks and self.schedules:
            schedules = [schedule for _plugin, schedule in self.schedules]
            self.spawn(run_schedules(schedules, self.broker, self.redis, self.settings.redis_prefix))

    async def stop(self, app: Quart | None = None, *, worker: bool = False) -> None:
        global _started
        self.stopping = True
        for task in self._background:
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        self._background.clear()
        await self._finish_work()
        await self.plugins.acall_each(
            "vetrai_shutdown", only=self._started_plugins, reverse=True, platform=self, app=app
        )
        self._started_plugins.clear()
        await self._finish_work()
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
        task = self.detach(coroutine)
        self._background.append(task)
        return task

    def detach(self, coroutine: Any) -> asyncio.Task[Any]:
        """A task that outlives its caller, in the context the platform started in. Created in
        the caller's context it would inherit the caller's database transaction (Tortoise keeps
        it in a context variable) and go on using that connection after the transaction ended
        and the pool lent it to someone else."""
        context = self._start_context.copy() if self._start_context is not None else None
        return asyncio.create_task(coroutine, context=context)

    def run_soon(self, coroutine: Any) -> asyncio.Task[Any]:
        """Work this process took on that ``stop`` lets finish (up to 5 s, then cancels) before
        the database closes: deliveries of outbox messages it just committed."""
        task = self.detach(coroutine)
        self._pending_work.add(task)
        task.add_done_callback(self._pending_work.discard)
        return task

    async def _finish_work(self, timeout: float = 5.0) -> None:
        if not self._pending_work:
            return
        _done, late = await asyncio.wait(set(self._pending_work), timeout=timeout)
        for task in late:
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)

    async def organization_is_active(self, organization_id: uuid.UUID) -> bool:
        from vetrai.core.models import Organization

        return await Organization.filter(id=organization_id, is_active=True).exists()


def current_platform() -> Platform:
    """The platform of the current app (in a request) or of this process (in a task)."""
    from quart import current_app, has_app_context

    if has_app_context() and "vetrai" in current_app.extensions:
        return cast(Platform, current_app.extensions["vetrai"])
    if _started is None:
        raise RuntimeError("no VetrAI platform has been started in this process")
    return _started
