"""Stripe subscriptions, invoices, payments, verified webhooks and usage metering."""

from __future__ import annotations

from vetrai import __version__
from vetrai.core.hooks import PluginInfo, hookimpl


@hookimpl
def vetrai_plugin_info() -> PluginInfo:
    return PluginInfo(name="billing", version=__version__, description="Stripe subscriptions, invoices, payments, verified webhooks and usage metering.", requires=("auth",))
