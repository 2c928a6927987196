"""Notification templates, channels, delivery queue and in-app inbox."""

from __future__ import annotations

from vetrai import __version__
from vetrai.core.hooks import PluginInfo, hookimpl


@hookimpl
def vetrai_plugin_info() -> PluginInfo:
    return PluginInfo(name="notifications", version=__version__, description="Notification templates, channels, delivery queue and in-app inbox.", requires=("auth",))
