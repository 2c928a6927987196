"""Themes, assets and public pages: storage, validation and lookups; no HTTP here."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from vetrai.core.audit import record_audit
from vetrai.core.auth import Principal
from vetrai.core.errors import ProblemError, conflict, field_error, not_found, unprocessable
from vetrai.core.filetypes import SNIFF_BYTES, sniff_content_type
from vetrai.core.models import Organization
from vetrai.core.platform import current_platform
from vetrai.core.tenancy import ensure_storage, scoped
from vetrai.plugins.themes import sanitize
from vetrai.plugins.themes.models import Page, Theme
from vetrai.plugins.themes.schemas import (
    COLOR_FIELDS as COLOR_FIELDS,
)
from vetrai.plugins.themes.schemas import (
    DEFAULT_THEME as DEFAULT_THEME,
)
from vetrai.plugins.themes.schemas import (
    THEME_FIELDS as THEME_FIELDS,
)
from vetrai.plugins.themes.schemas import (
    asset_url as asset_url,
)
from vetrai.plugins.themes.schemas import (
    theme_values as theme_values,
)
from vetrai.plugins.themes.settings import ThemesSettings

ASSET_KINDS: tuple[str, ...] = ("logo", "favicon")
IMAGE_TYPES = {"png": "image/png", "jpg": "image/jpeg", "webp": "image/webp", "ico": "image/x-icon"}


def settings() -> ThemesSettings:
    return current_platform().plugin_settings("themes", ThemesSettings)


def organization_of(principal: Principal, target_org: uuid.UUID | None = None) -> uuid.UUID:
    """The organization a call works on: the caller's own, or for super_admin any ``target_org``.

    Anyone else naming another organization gets a 404, as for any other tenant's object.
    """
    if target_org is not None and target_org != principal.organization_id:
        if not principal.is_super_admin:
            raise not_found("organization")
        return target_org
    if principal.organization_id is None:
        raise ProblemError(403, "themes belong to an organization; this credential has none")
    return principal.organization_id


async def _organization(organization_id: uuid.UUID) -> Organization:
    organization = await Organization.get_or_none(id=organization_id)
    if organization is None:
        raise not_found("organization")
    return organization


async def _emit(name: str, data: dict[str, Any], principal: Principal, organization_id: uuid.UUID) -> None:
    await current_platform().events.emit(name, data, organization_id=organization_id, actor_id=principal.user_id)


# --- themes ---------------------------------------------------------------------------------


async def find_theme(organization_id: uuid.UUID) -> Theme | None:
    return await Theme.get_or_none(organization_id=organization_id)


def _clean_css(css: str) -> str:
    if len(css.encode()) > settings().max_css_bytes:
        raise field_error("custom_css", f"at most {settings().max_css_bytes} bytes")
    return sanitize.sanitize_css(css)


def _validated(values: dict[str, Any]) -> dict[str, Any]:
    """Colors and font re-checked here too, so service callers cannot bypass the schema."""
    out = dict(values)
    errors = []
    for name, value in values.items():
        if value is None:
            continue
        try:
            if name in COLOR_FIELDS:
                out[name] = sanitize.validate_color(value)
            elif name == "font_family":
                out[name] = sanitize.validate_font_family(value)
        except ValueError as exc:
            errors.append({"loc": ["body", name], "msg": str(exc), "type": "value_error"})
    if errors:
        raise unprocessable(errors)
    return out


async def get_theme(principal: Principal, target_org: uuid.UUID | None = None) -> tuple[Theme | None, Organization]:
    """The caller's organization's theme (None: the defaults apply) and the organization."""
    organization_id = organization_of(principal, target_org)
    organization = await _organization(organization_id)
    return await find_theme(organization_id), organization


async def create_theme(
    principal: Principal, values: dict[str, Any], target_org: uuid.UUID | None = None
) -> tuple[Theme, Organization]:
    """The organization's theme; 409 when it already has one (change it with update_theme)."""
    organization = await _organization(organization_of(principal, target_org))
    organization_id = organization.id
    fields = {**DEFAULT_THEME, **_validated({k: v for k, v in values.items() if v is not None})}
    fields["custom_css"] = _clean_css(fields["custom_css"] or "")
    if await Theme.exists(organization_id=organization_id):
        raise conflict("the organization already has a theme: change it with PUT /api/v1/themes")
    try:
        theme = await Theme.create(organization_id=organization_id, **fields)
    except IntegrityError:
        raise conflict("the organization already has a theme: change it with PUT /api/v1/themes") from None
    await _theme_changed(principal, theme, "theme_created", sorted(fields))
    return theme, organization


async def update_theme(
    principal: Principal, changes: dict[str, Any], target_org: uuid.UUID | None = None
) -> tuple[Theme, Organization]:
    """Partial update; with no theme yet, one is created from the defaults plus ``changes``."""
    organization = await _organization(organization_of(principal, target_org))
    organization_id = organization.id
    if "custom_css" in changes:
        changes["custom_css"] = _clean_css(changes["custom_css"] or "")
    changes = _validated({name: value for name, value in changes.items() if value is not None})
    async with in_transaction():
        theme = await Theme.filter(organization_id=organization_id).select_for_update().get_or_none()
        if theme is None:
            try:
                theme = await Theme.create(organization_id=organization_id, **{**DEFAULT_THEME, **changes})
            except IntegrityError:
                raise conflict("the theme was created concurrently; retry") from None
        elif changes:
            for name, value in changes.items():
                setattr(theme, name, value)
            await theme.save(update_fields=[*changes, "updated_at"])
    await _theme_changed(principal, theme, "theme_updated", sorted(changes), {"fields": sorted(changes)})
    return theme, organization


async def _theme_changed(
    principal: Principal, theme: Theme, action: str, fields: list[str], data: dict[str, Any] | None = None
) -> None:
    """Audited as ``themes.<action>`` and announced as ``themes.theme_changed`` with the public
    fields that changed (listeners care that the look changed, not how)."""
    organization_id = theme.organization_id  # type: ignore[attr-defined]
    await record_audit(
        organization_id=organization_id,
        action=f"themes.{action}",
        principal=principal,
        target_type="theme",
        target_id=theme.id,
        data=data,
    )
    await _emit("themes.theme_changed", {"theme_id": str(theme.id), "fields": fields}, principal, organization_id)


# --- assets ---------------------------------------------------------------------------------


IMAGE_EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp", "image/x-icon": "ico"}


def sniff_image(data: bytes) -> str | None:
    """The extension of a well-formed PNG, JPEG, WebP or ICO image judged by its bytes, else None."""
    extension = IMAGE_EXTENSIONS.get(sniff_content_type(data[:SNIFF_BYTES]))
    if extension == "png" and not (
        data[12:16] == b"IHDR" and int.from_bytes(data[16:20], "big") and int.from_bytes(data[20:24], "big")
    ):
        return None
    if extension == "webp" and data[12:15] != b"VP8":
        return None
    if extension == "ico" and not (len(data) >= 22 and int.from_bytes(data[4:6], "little") > 0):
        return None
    return extension


def looks_like_svg(data: bytes) -> bool:
    return sniff_content_type(data[:SNIFF_BYTES]) in {"image/svg+xml", "application/xml"}


def asset_limit(kind: str) -> int:
    s = settings()
    return s.max_logo_bytes if kind == "logo" else s.max_favicon_bytes


def check_asset(kind: str, data: bytes) -> str:
    """The sniffed extension, or the 413/415 problem explaining why the upload is refused."""
    limit = asset_limit(kind)
    if len(data) > limit:
        raise ProblemError(413, f"the {kind} is larger than {limit} bytes", kind="payload-too-large")
    if not data:
        raise field_error("file", "the file is empty")
    if looks_like_svg(data):
        raise ProblemError(415, "SVG images are not accepted (they can carry scripts): upload PNG, JPEG, WebP or ICO")
    extension = sniff_image(data)
    if extension is None:
        raise ProblemError(415, "not a PNG, JPEG, WebP or ICO image (judged by its content, not its name)")
    return extension


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def store_asset(
    principal: Principal, kind: str, data: bytes, target_org: uuid.UUID | None = None
) -> tuple[Theme, Organization]:
    """Validate, store under ``org/<id>/themes/<kind>-<sha>.<ext>`` and point the theme at it."""
    organization = await _organization(organization_of(principal, target_org))
    organization_id = organization.id
    extension = check_asset(kind, data)
    digest = hashlib.sha256(data).hexdigest()[:24]
    key = f"org/{organization_id}/themes/{kind}-{digest}.{extension}"
    platform = current_platform()
    current = await Theme.get_or_none(organization_id=organization_id)
    # The upload replaces the asset of its kind: only what it adds is new storage.
    growth = len(data) - (getattr(current, f"{kind}_bytes") if current else 0)
    if growth > 0:
        await ensure_storage(platform, organization, growth)
    storage = platform.storage
    await storage.put(key, _chunks(data), IMAGE_TYPES[extension])
    async with in_transaction():
        theme = await Theme.filter(organization_id=organization_id).select_for_update().get_or_none()
        if theme is None:
            theme = await Theme.create(organization_id=organization_id, **DEFAULT_THEME)
        previous = getattr(theme, f"{kind}_key")
        setattr(theme, f"{kind}_key", key)
        setattr(theme, f"{kind}_content_type", IMAGE_TYPES[extension])
        setattr(theme, f"{kind}_bytes", len(data))
        await theme.save(update_fields=[f"{kind}_key", f"{kind}_content_type", f"{kind}_bytes", "updated_at"])
    if previous and previous != key:
        await storage.delete(previous)
    await _theme_changed(principal, theme, f"{kind}_uploaded", [f"{kind}_url"], {"bytes": len(data), "type": extension})
    return theme, organization


async def delete_asset(principal: Principal, kind: str, target_org: uuid.UUID | None = None) -> None:
    """Remove the logo or favicon (404 when there is none)."""
    organization_id = organization_of(principal, target_org)
    theme = await find_theme(organization_id)
    key = getattr(theme, f"{kind}_key") if theme else None
    if theme is None or not key:
        raise not_found(kind)
    setattr(theme, f"{kind}_key", None)
    setattr(theme, f"{kind}_content_type", None)
    setattr(theme, f"{kind}_bytes", 0)
    await theme.save(update_fields=[f"{kind}_key", f"{kind}_content_type", f"{kind}_bytes", "updated_at"])
    await current_platform().storage.delete(key)
    await _theme_changed(principal, theme, f"{kind}_deleted", [f"{kind}_url"])


# --- pages ----------------------------------------------------------------------------------


def _clean_content(content: str) -> str:
    limit = settings().max_page_bytes
    if len(content.encode()) > limit:
        raise field_error("content", f"at most {limit} bytes")
    return sanitize.sanitize_html(content)


def visible_pages(principal: Principal, target_org: uuid.UUID | None = None) -> QuerySet[Page]:
    return scoped(Page, principal, organization_id=organization_of(principal, target_org))


async def get_page(principal: Principal, slug: str, target_org: uuid.UUID | None = None) -> Page:
    page = await visible_pages(principal, target_org).get_or_none(slug=slug)
    if page is None:
        raise not_found("page")
    return page


async def create_page(principal: Principal, values: dict[str, Any], target_org: uuid.UUID | None = None) -> Page:
    organization_id = (await _organization(organization_of(principal, target_org))).id
    values = {**values, "content": _clean_content(values.get("content") or "")}
    values["title"] = sanitize.plain_text(values["title"])
    if values.get("meta_description") is not None:
        values["meta_description"] = sanitize.plain_text(values["meta_description"])
    async with in_transaction():
        await Organization.filter(id=organization_id).select_for_update().get()
        if await Page.filter(organization_id=organization_id).count() >= settings().max_pages:
            raise ProblemError(
                403, f"an organization may have at most {settings().max_pages} pages", kind="quota-exceeded"
            )
        if await Page.exists(organization_id=organization_id, slug=values["slug"]):
            raise conflict(f"a page with slug {values['slug']!r} already exists")
        try:
            page = await Page.create(organization_id=organization_id, **values)
        except IntegrityError:
            raise conflict(f"a page with slug {values['slug']!r} already exists") from None
    await _page_changed(principal, page, "created", {"slug": page.slug})
    return page


async def update_page(
    principal: Principal, slug: str, changes: dict[str, Any], target_org: uuid.UUID | None = None
) -> Page:
    page = await get_page(principal, slug, target_org)
    if "content" in changes:
        changes["content"] = _clean_content(changes["content"] or "")
    for name in ("title", "meta_description"):
        if changes.get(name) is not None:
            changes[name] = sanitize.plain_text(changes[name])
    if changes.get("slug") and changes["slug"] != page.slug:
        if await Page.exists(organization_id=page.organization_id, slug=changes["slug"]):  # type: ignore[attr-defined]
            raise conflict(f"a page with slug {changes['slug']!r} already exists")
    for name in ("slug", "title", "content", "is_published", "nav_order"):
        if name in changes and changes[name] is None:
            del changes[name]
    if changes:
        for name, value in changes.items():
            setattr(page, name, value)
        try:
            await page.save(update_fields=[*changes, "updated_at"])
        except IntegrityError:
            raise conflict(f"a page with slug {changes.get('slug')!r} already exists") from None
    await _page_changed(principal, page, "updated", {"fields": sorted(changes)})
    return page


async def delete_page(principal: Principal, slug: str, target_org: uuid.UUID | None = None) -> None:
    page = await get_page(principal, slug, target_org)
    await page.delete()
    await _page_changed(principal, page, "deleted", {"slug": page.slug})


async def _page_changed(principal: Principal, page: Page, verb: str, data: dict[str, Any]) -> None:
    """Every change of a page is audited and announced as ``themes.page_<verb>``."""
    action = f"themes.page_{verb}"
    organization_id = page.organization_id  # type: ignore[attr-defined]
    await record_audit(
        organization_id=organization_id,
        action=action,
        principal=principal,
        target_type="page",
        target_id=page.id,
        data=data,
    )
    await _emit(action, _page_event(page), principal, organization_id)


def _page_event(page: Page) -> dict[str, Any]:
    return {"page_id": str(page.id), "slug": page.slug, "title": page.title, "is_published": page.is_published}


# --- public lookups -------------------------------------------------------------------------


async def public_organization(slug: str) -> Organization | None:
    return await Organization.get_or_none(slug=slug, is_active=True)


async def published_pages(organization: Organization) -> list[Page]:
    return await Page.filter(organization_id=organization.id, is_published=True).order_by(
        "nav_order", "title", "created_at"
    )


async def public_asset(organization: Organization, name: str) -> tuple[str, str] | None:
    """(storage key, content type) of the organization's current logo or favicon named ``name``."""
    theme = await find_theme(organization.id)
    if theme is None:
        return None
    for kind in ASSET_KINDS:
        key = getattr(theme, f"{kind}_key")
        if key and key.rsplit("/", 1)[-1] == name:
            return key, getattr(theme, f"{kind}_content_type") or "application/octet-stream"
    return None


async def asset_bytes(organization_id: uuid.UUID) -> int:
    """Bytes of the organization's stored logo and favicon: themes' part of ``max_storage_bytes``."""
    # The two sizes only, not the whole row (custom CSS and all).
    sizes = await Theme.filter(organization_id=organization_id).values_list("logo_bytes", "favicon_bytes")
    return sum(logo + favicon for logo, favicon in sizes)
