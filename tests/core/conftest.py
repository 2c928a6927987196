"""Core tests run on the core and auth plugins only, so they test the host, not the plugins."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from vetrai.core.config import Settings


@pytest.fixture
def settings(settings_factory: Callable[..., Settings]) -> Settings:
    return settings_factory(plugins=["auth"])


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[Any]:
    from vetrai.core.app import create_app

    application = create_app(settings)
    async with application.test_app() as test_app:
        yield test_app
