"""Shared fixtures: every API test runs on the backend chosen by VETRAI_TEST_BACKEND.

``sqlite`` (default): a SQLite file per test, copied from one database migrated once per run,
and the in-memory broker.
``postgres``: one fresh database per test run on 127.0.0.1 (dropped at the end), tables
truncated between tests, and a Redis broker with a per-test key prefix, so several runs can
share one Postgres and one Redis without seeing each other.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from vetrai.core.config import Settings
from vetrai.core.conformance import backend, running_app

BACKEND = backend.backend_name()


@pytest.fixture
def settings_factory(vetrai_settings_factory: Callable[..., Settings]) -> Callable[..., Settings]:
    """``settings_factory(**overrides)``: the kit's Settings on this test's isolated database."""
    return vetrai_settings_factory


@pytest.fixture
def empty_database_url(vetrai_empty_database_url: str) -> str:
    return vetrai_empty_database_url


@pytest.fixture
def settings(settings_factory: Callable[..., Settings]) -> Settings:
    return settings_factory()


@pytest.fixture
async def app(settings: Settings, vetrai_extra_plugins: tuple[object, ...], vetrai_worker: bool) -> AsyncIterator[Any]:
    """The app with its lifespan running (every installed plugin unless a folder's conftest
    overrides ``settings``; ``vetrai_worker`` True there runs tasks on a worker on Postgres)."""
    async with running_app(settings, vetrai_extra_plugins, worker=vetrai_worker) as test_app:
        yield test_app


@pytest.fixture
def vetrai_app(app: Any) -> Any:
    """The kit's fixtures (``client``, ``make_org``, ``make_user``, ``api_key``, ``vetrai_events``,
    ``vetrai_platform``...) act on this suite's ``app``, whichever conftest built it."""
    return app


@pytest.fixture
def platform(vetrai_platform: Any) -> Any:
    return vetrai_platform


@pytest.fixture
def events(platform: Any, monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """Every domain event emitted by the app, as (name, data, keyword arguments): what the kit's
    ``vetrai_events`` log does not keep (the emit call's keyword arguments)."""
    recorded: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
    original = platform.events.emit

    async def emit(name: str, data: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        recorded.append((name, data or {}, kwargs))
        return await original(name, data, **kwargs)

    monkeypatch.setattr(platform.events, "emit", emit)
    return recorded


@pytest.fixture
def exporter() -> Iterator[Any]:
    """The finished spans of the test (an in-memory OpenTelemetry exporter, the platform's tracer)."""
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from vetrai.core import tracing

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    previous = tracing.use_provider(provider)
    yield exporter
    tracing.use_provider(previous)
    provider.shutdown()


def pytest_report_header(config: pytest.Config) -> str:
    return f"vetrai test backend: {BACKEND}"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "backend(name): runs only on that test backend, deselected on the other")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A test about one backend's machinery (in-server schedules, Redis workers) is deselected
    on the other backend rather than skipped: there it has nothing to test."""
    other = [item for item in items if (marker := item.get_closest_marker("backend")) and BACKEND not in marker.args]
    if other:
        config.hook.pytest_deselected(items=other)
        items[:] = [item for item in items if item not in other]
