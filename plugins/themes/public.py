"""Rendering of the public pages: Jinja2 templates, security and caching headers, 304s."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup
from quart import Response, request

from vetrai.core.models import Organization
from vetrai.plugins.themes import sanitize, service
from vetrai.plugins.themes.models import Page, Theme

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'none'",
        "style-src 'self'",
        # Inline style *attributes* of page content survive sanitizing (allow-listed
        # properties, no url()); <style> elements never do, and scripts never run.
        "style-src-attr 'unsafe-inline'",
        "img-src 'self' https:",
        "font-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'self'",
        "object-src 'none'",
    ]
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "X-Frame-Options": "SAMEORIGIN",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}
ASSET_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "X-Content-Type-Options": "nosniff",
}
DEFAULT_CSS_URL = "/p/theme.css"


@cache
def environment() -> Environment:
    """HTML templates autoescaped; the CSS template is not HTML (its inputs are validated)."""
    return Environment(
        loader=PackageLoader("vetrai.plugins.themes", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=True, default=False),
        trim_blocks=False,
        lstrip_blocks=False,
    )


def safe_theme(theme: Theme | None, organization: Organization | None) -> dict[str, Any]:
    """Theme values for templates, each re-validated (a bad stored value falls back to default)."""
    values = service.theme_values(theme)
    for name in service.COLOR_FIELDS:
        try:
            values[name] = sanitize.validate_color(values[name])
        except ValueError:
            values[name] = service.DEFAULT_THEME[name]
    try:
        values["font_family"] = sanitize.validate_font_family(values["font_family"])
    except ValueError:
        values["font_family"] = service.DEFAULT_THEME["font_family"]
    values["custom_css"] = sanitize.sanitize_css(values["custom_css"] or "")
    values["logo_url"] = service.asset_url(organization, theme.logo_key) if theme and organization else None
    values["favicon_url"] = service.asset_url(organization, theme.favicon_key) if theme and organization else None
    return values


def _version(*stamps: datetime | None) -> str:
    return hashlib.sha256("|".join(stamp.isoformat() if stamp else "-" for stamp in stamps).encode()).hexdigest()[:12]


def latest(*stamps: datetime | None) -> datetime | None:
    present = [stamp for stamp in stamps if stamp is not None]
    return max(present) if present else None


def _page_url(organization: Organization, page: Page) -> str:
    return f"/p/{organization.slug}/{page.slug}"


def context(
    organization: Organization | None, theme: Theme | None, pages: list[Page], current: Page | None = None
) -> dict[str, Any]:
    values = safe_theme(theme, organization)
    if organization is None:
        css_url = DEFAULT_CSS_URL
        home_url = None
        site_name = "VetrAI"
    else:
        css_url = f"/p/{organization.slug}/theme.css?v={_version(theme.updated_at if theme else None)}"
        home_url = f"/p/{organization.slug}/"
        site_name = organization.name
    return {
        "organization": organization,
        "theme": values,
        "site_name": site_name,
        "css_url": css_url,
        "home_url": home_url,
        "lang": "en",
        "description": current.meta_description if current else None,
        "nav": [
            {
                "url": _page_url(organization, page),
                "title": page.title,
                "current": current is not None and page.id == current.id,
            }
            for page in pages
        ]
        if organization
        else [],
    }


def render_page(organization: Organization, theme: Theme | None, pages: list[Page], page: Page) -> str:
    values = context(organization, theme, pages, page)
    # Stored HTML was sanitized on save; cleaning again on output covers rows written
    # before a rule changed (nh3 is fast and the result is idempotent).
    content = Markup(sanitize.sanitize_html(page.content))
    return environment().get_template("page.html").render(**values, page=page, content=content)


def render_index(organization: Organization, theme: Theme | None, pages: list[Page]) -> str:
    values = context(organization, theme, pages)
    listing = [
        {"url": _page_url(organization, page), "title": page.title, "meta_description": page.meta_description}
        for page in pages
    ]
    return environment().get_template("index.html").render(**values, pages=listing)


def render_not_found(organization: Organization | None, theme: Theme | None, pages: list[Page]) -> str:
    return environment().get_template("404.html").render(**context(organization, theme, pages))


def render_css(organization: Organization | None, theme: Theme | None) -> str:
    values = safe_theme(theme, organization)
    return (
        environment()
        .get_template("theme.css")
        .render(organization=organization, theme=values, custom_css=values["custom_css"])
    )


async def conditional(
    body: str | bytes,
    content_type: str,
    *,
    last_modified: datetime | None,
    cache_control: str,
    headers: dict[str, str],
    status: int = 200,
    etag: str | None = None,
) -> Response:
    """The response with ETag and Last-Modified; Quart's ``make_conditional`` answers a 304 for them."""
    data = body.encode() if isinstance(body, str) else body
    response = Response(
        data,
        status=status,
        content_type=content_type,
        headers={**headers, "Cache-Control": cache_control, "Vary": "Accept-Encoding"},
    )
    response.set_etag(etag or hashlib.sha256(data).hexdigest()[:32])
    if last_modified is not None:
        response.last_modified = last_modified.astimezone(UTC).replace(microsecond=0)
    if status != 200:
        return response
    return await response.make_conditional(request)


async def html(body: str, *, last_modified: datetime | None, max_age: int, status: int = 200) -> Response:
    cache_control = f"public, max-age={max_age}" if status == 200 else "no-cache"
    return await conditional(
        body,
        "text/html; charset=utf-8",
        last_modified=last_modified if status == 200 else None,
        cache_control=cache_control,
        headers=SECURITY_HEADERS,
        status=status,
    )
