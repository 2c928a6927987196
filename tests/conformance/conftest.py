"""The conformance suite uses the kit's own fixtures (``vetrai_*``): by default core, auth and keys.

``PluginConformance`` classes choose their plugins themselves (the plugin, what it requires,
auth and keys), so this default only serves the kit's own tests.
"""

from __future__ import annotations

import pytest

from vetrai.core.config import Settings


@pytest.fixture
def vetrai_plugins() -> list[str]:
    return ["auth", "keys"]


@pytest.fixture
def settings(vetrai_settings: Settings) -> Settings:
    """The suite's app (which the kit's fixtures use) on the kit's settings: these tests are the kit's."""
    return vetrai_settings
