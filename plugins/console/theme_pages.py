"""The branding editor: the organization's colours, font, custom CSS and logo, on the themes API.

The preview is the organization's public index itself, framed (the public pages allow
same-origin framing), so what it shows is exactly what visitors get; the script also
repaints a sample card as colours are picked, before anything is saved.
"""

from __future__ import annotations

from typing import Any

from quart import Response, redirect, request
from quart_schema import hide

from vetrai.core.permissions import ORG_ADMIN
from vetrai.plugins.console.api import ApiError
from vetrai.plugins.console.routes import api, blueprint, error_page, page, session

BASE = "/api/v1/themes"
COLOURS = ("primary_color", "secondary_color", "accent_color", "background_color", "text_color")
TEXT_FIELDS = ("font_family", "custom_css")


async def _theme_page(status: int = 200, form: dict[str, Any] | None = None, **extra: Any) -> Response:
    theme = await api().get(BASE)
    return await page(
        "console/theme.html",
        status,
        title="Theme",
        branding={**theme, **(form or {})},
        saved=theme,
        colours=COLOURS,
        **extra,
    )


def _allowed() -> bool:
    return session().principal.has_role(ORG_ADMIN)


@blueprint.get("/theme")
@hide
async def theme() -> Response:
    """The branding editor with a preview of the public pages (HTML; org_admin)."""
    if not _allowed():
        return await error_page(403, "Only an organization admin edits the theme.")
    return await _theme_page()


@blueprint.post("/theme")
@hide
async def save_theme() -> Response:
    """Save colours, font and custom CSS: create the theme the first time, update it after (HTML form)."""
    if not _allowed():
        return await error_page(403, "Only an organization admin edits the theme.")
    form = await request.form
    body = {name: (form.get(name) or "").strip() for name in COLOURS}
    for name in TEXT_FIELDS:
        body[name] = form.get(name) or ""
    if not body["font_family"].strip():
        body.pop("font_family")
    current = await api().get(BASE)
    try:
        if current.get("is_default"):
            await api().post(BASE, {key: value for key, value in body.items() if value != ""})
        else:
            await api().put(BASE, body)
    except ApiError as exc:
        if exc.status in (403, 409, 422):
            return await _theme_page(exc.status, form=body, error=exc.message)
        raise
    return redirect("/console/theme?done=theme-saved", 303)


@blueprint.post("/theme/logo")
@hide
async def upload_logo() -> Response:
    """Upload the logo (PNG, JPEG, WebP or ICO; the API judges the content) (HTML multipart form)."""
    if not _allowed():
        return await error_page(403, "Only an organization admin edits the theme.")
    files = await request.files
    logo = files.get("logo")
    if logo is None or not logo.filename:
        return await _theme_page(422, error="Choose an image file for the logo.")
    content = logo.read()
    try:
        await api().upload(
            f"{BASE}/assets/logo", "file", logo.filename, content, logo.mimetype or "application/octet-stream"
        )
    except ApiError as exc:
        if exc.status in (400, 403, 409, 413, 415, 422):
            return await _theme_page(exc.status, error=exc.message)
        raise
    return redirect("/console/theme?done=theme-saved", 303)
