"""Core tests run on the core and auth plugins only, so they test the host, not the plugins."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from vetrai.core.config import Settings


@pytest.fixture
def settings(settings_factory: Callable[..., Settings]) -> Settings:
    return settings_factory(plugins=["auth"])
