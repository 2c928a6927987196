"""Only the kit is needed (it is a pytest plugin installed with vetrai): choose the plugins."""

from __future__ import annotations

import pytest


@pytest.fixture
def vetrai_plugins() -> list[str]:
    """The test app runs the core, auth (users and tokens), keys (API keys) and this plugin."""
    return ["auth", "keys", "hello"]
