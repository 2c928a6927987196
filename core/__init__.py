"""The plugin host: hook markers and the types plugins exchange with the core."""

from vetrai.core.hooks import (
    Backoff,
    BlueprintSpec,
    DeliveryError,
    ModelSpec,
    NotificationChannel,
    OutboxHandler,
    Permission,
    PluginInfo,
    Schedule,
    TemporaryDeliveryError,
    WorkflowNode,
    hookimpl,
    hookspec,
)

__all__ = [
    "Backoff",
    "BlueprintSpec",
    "DeliveryError",
    "ModelSpec",
    "NotificationChannel",
    "OutboxHandler",
    "Permission",
    "PluginInfo",
    "Schedule",
    "TemporaryDeliveryError",
    "WorkflowNode",
    "hookimpl",
    "hookspec",
]
