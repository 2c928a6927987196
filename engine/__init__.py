"""The workflow engine: LangGraph runs distributed by taskiq (the /api/v1/workers API)."""

from __future__ import annotations

from vetrai import __version__
from vetrai.core.hooks import PluginInfo, hookimpl


@hookimpl
def vetrai_plugin_info() -> PluginInfo:
    return PluginInfo(name="workers", version=__version__, description="The workflow engine: LangGraph runs distributed by taskiq (the /api/v1/workers API).", requires=("auth",))
