"""Per-organization themes, assets and public pages."""

from __future__ import annotations

from vetrai import __version__
from vetrai.core.hooks import PluginInfo, hookimpl


@hookimpl
def vetrai_plugin_info() -> PluginInfo:
    return PluginInfo(name="themes", version=__version__, description="Per-organization themes, assets and public pages.", requires=("auth",))
