from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from quart_schema.pydantic import File

from vetrai.core.models import Organization
from vetrai.plugins.themes.models import Theme
from vetrai.plugins.themes.sanitize import validate_color, validate_font_family

COLOR_FIELDS = ("primary_color", "secondary_color", "accent_color", "background_color", "text_color")
THEME_FIELDS = (*COLOR_FIELDS, "font_family", "custom_css")
DEFAULT_THEME: dict[str, str] = {
    "primary_color": "#2563eb",
    "secondary_color": "#475569",
    "accent_color": "#f59e0b",
    "background_color": "#ffffff",
    "text_color": "#111827",
    "font_family": "system-ui, sans-serif",
    "custom_css": "",
}
ASSET_URL_PREFIX = "/p/{slug}/assets/"
PAGE_SLUG_PATTERN = r"^[a-z0-9](?:[a-z0-9-]{0,98}[a-z0-9])?$"
RESERVED_SLUGS = frozenset({"assets", "theme", "index", "static", "api"})

Color = Annotated[
    str,
    Field(
        min_length=4, max_length=64, description="Hex (#rgb, #rrggbb, #rrggbbaa) or rgb()/rgba()", examples=["#2563eb"]
    ),
    AfterValidator(validate_color),
]
FontFamily = Annotated[
    str,
    Field(
        min_length=1,
        max_length=300,
        description='Comma-separated: generic families, common web fonts, or quoted names ("My Font")',
        examples=['"Inter", system-ui, sans-serif'],
    ),
    AfterValidator(validate_font_family),
]


def _slug(value: str) -> str:
    if value in RESERVED_SLUGS:
        raise ValueError(f"{value!r} is reserved")
    return value


PageSlug = Annotated[
    str,
    Field(
        min_length=1, max_length=100, pattern=PAGE_SLUG_PATTERN, description="Lower-case letters, digits and hyphens"
    ),
    AfterValidator(_slug),
]


class ThemesThemeCreate(BaseModel):
    """Colors are required; font and custom CSS are optional (defaults: system-ui, no CSS)."""

    model_config = ConfigDict(extra="forbid")

    primary_color: Color
    secondary_color: Color
    accent_color: Color
    background_color: Color
    text_color: Color
    font_family: FontFamily | None = None
    custom_css: str | None = Field(
        None, description="Sanitized on save: only allow-listed rules and properties survive."
    )


class ThemesThemeUpdate(BaseModel):
    """Partial update: fields not sent stay as they are."""

    model_config = ConfigDict(extra="forbid")

    primary_color: Color | None = None
    secondary_color: Color | None = None
    accent_color: Color | None = None
    background_color: Color | None = None
    text_color: Color | None = None
    font_family: FontFamily | None = None
    custom_css: str | None = Field(None, description="Sanitized on save; an empty string removes it.")


def theme_values(theme: Theme | None) -> dict[str, str]:
    if theme is None:
        return dict(DEFAULT_THEME)
    return {name: getattr(theme, name) for name in THEME_FIELDS}


def asset_url(organization: Organization, key: str | None) -> str | None:
    if not key:
        return None
    return ASSET_URL_PREFIX.format(slug=organization.slug) + key.rsplit("/", 1)[-1]


class ThemesThemeOut(BaseModel):
    id: uuid.UUID | None = Field(description="null while the organization uses the defaults")
    organization_id: uuid.UUID
    is_default: bool
    primary_color: str
    secondary_color: str
    accent_color: str
    background_color: str
    text_color: str
    font_family: str
    custom_css: str
    logo_url: str | None
    favicon_url: str | None
    css_url: str
    public_url: str
    created_at: datetime | None
    updated_at: datetime | None

    @classmethod
    def of(cls, theme: Theme | None, organization: Organization) -> ThemesThemeOut:
        """The organization's theme as shown; ``None`` stands for the defaults."""
        return cls(
            id=theme.id if theme else None,
            organization_id=organization.id,
            is_default=theme is None,
            **theme_values(theme),
            logo_url=asset_url(organization, theme.logo_key if theme else None),
            favicon_url=asset_url(organization, theme.favicon_key if theme else None),
            css_url=f"/p/{organization.slug}/theme.css",
            public_url=f"/p/{organization.slug}/",
            created_at=theme.created_at if theme else None,
            updated_at=theme.updated_at if theme else None,
        )


class ThemesAssetUpload(BaseModel):
    file: File = Field(description="PNG, JPEG, WebP or ICO (judged by content; SVG refused)")


class ThemesPageCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    slug: PageSlug
    title: str = Field(min_length=1, max_length=200)
    content: str = Field("", description="HTML, sanitized on save")
    is_published: bool = False
    meta_description: str | None = Field(None, max_length=300)
    nav_order: int = Field(0, ge=-10_000, le=10_000, description="Position in the navigation (then title)")


class ThemesPageUpdate(BaseModel):
    """Partial update: fields not sent stay as they are."""

    model_config = ConfigDict(extra="forbid")

    slug: PageSlug | None = None
    title: str | None = Field(None, min_length=1, max_length=200)
    content: str | None = Field(None, description="HTML, sanitized on save")
    is_published: bool | None = None
    meta_description: str | None = Field(None, max_length=300)
    nav_order: int | None = Field(None, ge=-10_000, le=10_000)


class ThemesPageOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    organization_id: uuid.UUID
    slug: str
    title: str
    content: str
    meta_description: str | None
    is_published: bool
    nav_order: int
    created_at: datetime
    updated_at: datetime


class ThemesPagePage(BaseModel):
    items: list[ThemesPageOut]
    next_cursor: str | None = None


class ThemesTargetQuery(BaseModel):
    organization_id: uuid.UUID | None = Field(
        None, description="super_admin only: work on this organization instead of your own (404 for anyone else)"
    )


class ThemesPageListQuery(ThemesTargetQuery):
    limit: int = Field(50, ge=1, le=200)
    cursor: str | None = None
    is_published: bool | None = Field(None, description="Only published (true) or drafts (false)")
