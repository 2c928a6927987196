"""The console's navigation: every enabled plugin's ``vetrai_console_pages`` entries a principal may see."""

from __future__ import annotations

from vetrai.core.auth import Principal
from vetrai.core.hooks import ConsolePage
from vetrai.core.platform import current_platform

# The console's own pages built on another plugin's API: shown only while that plugin is enabled.
NEEDS_PLUGIN = {
    "runs": "workers",
    "keys": "keys",
    "support": "support",
    "inbox": "notifications",
    "billing": "billing",
    "theme": "themes",
}


def visible_pages(principal: Principal) -> list[ConsolePage]:
    plugins = current_platform().plugins
    pages = [
        page
        for owner, page in plugins.console_pages
        if owner != "console" or NEEDS_PLUGIN.get(page.name, "console") in plugins.infos
    ]
    allowed = [page for page in pages if not page.roles or principal.has_role(*page.roles)]
    return sorted(allowed, key=lambda page: (page.order, page.title))


def navigation(principal: Principal) -> list[dict[str, str]]:
    return [
        {"name": page.name, "title": page.title, "url": page.url or f"/console/x/{page.name}"}
        for page in visible_pages(principal)
    ]


def page_by_name(principal: Principal, name: str) -> ConsolePage | None:
    return next((page for page in visible_pages(principal) if page.name == name), None)
