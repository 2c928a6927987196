"""The organization's branding in the console: its primary colour and logo, from the themes API."""

from __future__ import annotations

import re
from typing import Any

from vetrai.core.platform import current_platform
from vetrai.plugins.console.api import ApiError, ConsoleApi

HEX = re.compile(r"^#([0-9a-fA-F]{6})$")
DEFAULT = {"primary": "#1d4ed8", "on_primary": "#ffffff", "logo_url": None}


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def readable_on(hex_colour: str) -> str:
    """White or near-black text, whichever has the higher WCAG contrast on ``hex_colour``."""
    luminance = _luminance(hex_colour)
    return "#ffffff" if (1.05 / (luminance + 0.05)) >= ((luminance + 0.05) / 0.05) else "#111111"


async def console_theme(api: ConsoleApi | None) -> dict[str, Any]:
    """The theme's primary colour (hex only; other notations keep the default) and logo."""
    if api is None or "themes" not in current_platform().plugins.infos:
        return DEFAULT
    try:
        theme = await api.get("/api/v1/themes")
    except ApiError:
        return DEFAULT
    primary = str(theme.get("primary_color") or "")
    if not HEX.match(primary):
        return {**DEFAULT, "logo_url": theme.get("logo_url")}
    return {"primary": primary.lower(), "on_primary": readable_on(primary), "logo_url": theme.get("logo_url")}
