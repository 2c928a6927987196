"""The web console at /console: server-rendered pages on the platform's own APIs, behind a browser session."""

from __future__ import annotations

from vetrai import __version__
from vetrai.core.hooks import BlueprintSpec, ConsolePage, PluginInfo, hookimpl
from vetrai.core.permissions import ORG_ADMIN, SUPER_ADMIN


@hookimpl
def vetrai_plugin_info() -> PluginInfo:
    return PluginInfo(
        name="console",
        version=__version__,
        description="Web console: runs with their live graph, keys, members and plan usage",
        requires=("auth",),
    )


@hookimpl
def vetrai_blueprints() -> list[BlueprintSpec]:
    # Imported for their routes (each adds its pages to routes.blueprint), when an app is built.
    from vetrai.plugins.console import (  # noqa: F401
        admin_pages,
        billing_pages,
        inbox_pages,
        key_pages,
        notification_pages,
        organization_pages,
        playground_pages,
        routes,
        run_pages,
        support_pages,
        theme_pages,
    )

    # Public for the bearer check: the console authenticates by its own session cookie.
    return [BlueprintSpec(routes.blueprint, "/console", tags=["console"], public=True)]


@hookimpl
def vetrai_console_pages() -> list[ConsolePage]:
    return [
        ConsolePage("runs", "Runs", url="/console/runs", order=10),
        ConsolePage("playground", "Playground", url="/console/playground", order=15),
        ConsolePage("keys", "API keys", url="/console/keys", order=20),
        ConsolePage("organization", "Organization", url="/console/organization", roles=(ORG_ADMIN,), order=30),
        ConsolePage("support", "Support", url="/console/support", order=40),
        ConsolePage("inbox", "Notifications", url="/console/inbox", order=50),
        ConsolePage("billing", "Billing", url="/console/billing", order=60),
        ConsolePage("theme", "Theme", url="/console/theme", roles=(ORG_ADMIN,), order=70),
        ConsolePage("admin", "Organizations", url="/console/admin", roles=(SUPER_ADMIN,), order=90),
    ]
