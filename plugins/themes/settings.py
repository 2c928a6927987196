from __future__ import annotations

from pydantic import Field

from vetrai.core.config import PluginSettings


class ThemesSettings(PluginSettings, plugin="themes"):
    """``VETRAI_THEMES_*``: asset and content size limits and public-page caching."""

    max_logo_bytes: int = Field(1024 * 1024, ge=1, description="Largest logo upload (PNG, JPEG, WebP or ICO).")
    max_favicon_bytes: int = Field(256 * 1024, ge=1, description="Largest favicon upload (PNG, JPEG, WebP or ICO).")
    max_css_bytes: int = Field(64 * 1024, ge=1, description="Largest custom CSS accepted (before sanitizing).")
    max_page_bytes: int = Field(256 * 1024, ge=1, description="Largest page HTML accepted (before sanitizing).")
    max_pages: int = Field(200, ge=1, description="Public pages one organization may have.")
    cache_max_age_seconds: int = Field(
        60, ge=0, description="Cache-Control max-age of public pages and theme.css (revalidated with ETag)."
    )
