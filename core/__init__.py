"""The plugin host: hook markers and the types plugins exchange with the core."""

from vetrai.core.hooks import (
    BlueprintSpec,
    ModelSpec,
    NotificationChannel,
    Permission,
    PluginInfo,
    Schedule,
    WorkflowNode,
    hookimpl,
    hookspec,
)

__all__ = [
    "BlueprintSpec",
    "ModelSpec",
    "NotificationChannel",
    "Permission",
    "PluginInfo",
    "Schedule",
    "WorkflowNode",
    "hookimpl",
    "hookspec",
]
