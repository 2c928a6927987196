"""Support tickets, comments, attachments, assignment and SLA."""

from __future__ import annotations

from vetrai import __version__
from vetrai.core.hooks import PluginInfo, hookimpl


@hookimpl
def vetrai_plugin_info() -> PluginInfo:
    return PluginInfo(name="support", version=__version__, description="Support tickets, comments, attachments, assignment and SLA.", requires=("auth",))
