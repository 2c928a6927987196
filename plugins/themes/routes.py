from __future__ import annotations

from quart import Blueprint, Response, request
from quart_schema import DataSource, document_request, validate_querystring, validate_request, validate_response

from vetrai.core.auth import current_principal, require_role, require_scope
from vetrai.core.errors import ProblemError, not_found
from vetrai.core.models import Organization
from vetrai.core.openapi import public
from vetrai.core.pagination import PageQuery, paginate
from vetrai.core.permissions import ORG_ADMIN
from vetrai.core.platform import current_platform
from vetrai.core.requests import file_upload, read_at_most
from vetrai.plugins.themes import public as render
from vetrai.plugins.themes import service
from vetrai.plugins.themes.models import Page, Theme
from vetrai.plugins.themes.schemas import (
    ThemesAssetUpload,
    ThemesPageCreate,
    ThemesPageListQuery,
    ThemesPageOut,
    ThemesPagePage,
    ThemesPageUpdate,
    ThemesTargetQuery,
    ThemesThemeCreate,
    ThemesThemeOut,
    ThemesThemeUpdate,
)

blueprint = Blueprint("themes", __name__)
public_blueprint = Blueprint("themes_public", __name__)
MULTIPART_OVERHEAD = 64 * 1024


def _asset_kind(kind: str) -> str:
    if kind not in service.ASSET_KINDS:
        raise not_found("asset kind (logo or favicon)")
    return kind


# --- theme ----------------------------------------------------------------------------------


@blueprint.get("")
@require_scope("themes:read")
@validate_querystring(ThemesTargetQuery)
@validate_response(ThemesThemeOut)
async def get_theme(query_args: ThemesTargetQuery) -> ThemesThemeOut:
    """Your organization's theme; the defaults (``is_default: true``) when it has none."""
    theme, organization = await service.get_theme(await current_principal(), query_args.organization_id)
    return ThemesThemeOut.of(theme, organization)


@blueprint.post("")
@require_scope("themes:write")
@require_role(ORG_ADMIN)
@validate_querystring(ThemesTargetQuery)
@validate_request(ThemesThemeCreate)
@validate_response(ThemesThemeOut, 201)
async def create_theme(data: ThemesThemeCreate, query_args: ThemesTargetQuery) -> tuple[ThemesThemeOut, int]:
    """Create the organization's theme (409 when it has one); custom CSS is sanitized."""
    theme, organization = await service.create_theme(
        await current_principal(), data.model_dump(), query_args.organization_id
    )
    return ThemesThemeOut.of(theme, organization), 201


@blueprint.put("")
@require_scope("themes:write")
@require_role(ORG_ADMIN)
@validate_querystring(ThemesTargetQuery)
@validate_request(ThemesThemeUpdate)
@validate_response(ThemesThemeOut)
async def update_theme(data: ThemesThemeUpdate, query_args: ThemesTargetQuery) -> ThemesThemeOut:
    """Change the theme (partial: fields not sent stay); creates it from the defaults if needed."""
    changes = {name: getattr(data, name) for name in data.model_fields_set}
    theme, organization = await service.update_theme(await current_principal(), changes, query_args.organization_id)
    return ThemesThemeOut.of(theme, organization)


@blueprint.post("/assets/<kind>")
@require_scope("themes:write")
@require_role(ORG_ADMIN)
@validate_querystring(ThemesTargetQuery)
@document_request(ThemesAssetUpload, source=DataSource.FORM_MULTIPART)
@validate_response(ThemesThemeOut)
async def upload_asset(kind: str, query_args: ThemesTargetQuery) -> ThemesThemeOut:
    """Upload the ``logo`` or ``favicon`` (multipart field ``file``): PNG, JPEG, WebP or ICO."""
    kind = _asset_kind(kind)
    principal = await current_principal()
    limit = service.asset_limit(kind)
    if request.content_length is not None and request.content_length > limit + MULTIPART_OVERHEAD:
        raise ProblemError(413, f"the {kind} is larger than {limit} bytes", kind="payload-too-large")
    if not request.mimetype.startswith("multipart/form-data"):
        raise ProblemError(415, "send the image as multipart/form-data in the field 'file'")
    part = await file_upload()
    data = await read_at_most(part.chunks, limit)
    theme, organization = await service.store_asset(principal, kind, data, query_args.organization_id)
    return ThemesThemeOut.of(theme, organization)


@blueprint.delete("/assets/<kind>")
@require_scope("themes:write")
@require_role(ORG_ADMIN)
@validate_querystring(ThemesTargetQuery)
async def delete_asset(kind: str, query_args: ThemesTargetQuery) -> tuple[str, int]:
    """Remove the ``logo`` or ``favicon``."""
    await service.delete_asset(await current_principal(), _asset_kind(kind), query_args.organization_id)
    return "", 204


# --- pages ----------------------------------------------------------------------------------


@blueprint.get("/pages")
@require_scope("themes:read")
@validate_querystring(ThemesPageListQuery)
@validate_response(ThemesPagePage)
async def list_pages(query_args: ThemesPageListQuery) -> dict:
    """The organization's pages, published and drafts, newest first."""
    queryset = service.visible_pages(await current_principal(), query_args.organization_id)
    if query_args.is_published is not None:
        queryset = queryset.filter(is_published=query_args.is_published)
    return await paginate(queryset, PageQuery(limit=query_args.limit, cursor=query_args.cursor), ThemesPageOut)


@blueprint.post("/pages")
@require_scope("themes:write")
@require_role(ORG_ADMIN)
@validate_querystring(ThemesTargetQuery)
@validate_request(ThemesPageCreate)
@validate_response(ThemesPageOut, 201)
async def create_page(data: ThemesPageCreate, query_args: ThemesTargetQuery) -> tuple[ThemesPageOut, int]:
    """Create a page; its HTML is sanitized on save (409 for a slug already used)."""
    page = await service.create_page(await current_principal(), data.model_dump(), query_args.organization_id)
    return ThemesPageOut.model_validate(page), 201


@blueprint.get("/pages/<slug>")
@require_scope("themes:read")
@validate_querystring(ThemesTargetQuery)
@validate_response(ThemesPageOut)
async def get_page(slug: str, query_args: ThemesTargetQuery) -> ThemesPageOut:
    """Read a page (drafts included)."""
    return ThemesPageOut.model_validate(
        await service.get_page(await current_principal(), slug, query_args.organization_id)
    )


@blueprint.put("/pages/<slug>")
@require_scope("themes:write")
@require_role(ORG_ADMIN)
@validate_querystring(ThemesTargetQuery)
@validate_request(ThemesPageUpdate)
@validate_response(ThemesPageOut)
async def update_page(slug: str, data: ThemesPageUpdate, query_args: ThemesTargetQuery) -> ThemesPageOut:
    """Change a page (partial); HTML sanitized on save, a new slug must be free (409)."""
    changes = {name: getattr(data, name) for name in data.model_fields_set}
    return ThemesPageOut.model_validate(
        await service.update_page(await current_principal(), slug, changes, query_args.organization_id)
    )


@blueprint.delete("/pages/<slug>")
@require_scope("themes:write")
@require_role(ORG_ADMIN)
@validate_querystring(ThemesTargetQuery)
async def delete_page(slug: str, query_args: ThemesTargetQuery) -> tuple[str, int]:
    """Delete a page."""
    await service.delete_page(await current_principal(), slug, query_args.organization_id)
    return "", 204


# --- public (no credentials) ----------------------------------------------------------------


def _max_age() -> int:
    return service.settings().cache_max_age_seconds


async def _not_found(
    organization: Organization | None = None, theme: Theme | None = None, pages: list[Page] | None = None
) -> Response:
    body = render.render_not_found(organization, theme, pages or [])
    return await render.html(body, last_modified=None, max_age=0, status=404)


@public_blueprint.get("/theme.css")
@public
async def default_css() -> Response:
    """The default theme's stylesheet (used by pages of unknown organizations)."""
    body = render.render_css(None, None)
    return await render.conditional(
        body,
        "text/css; charset=utf-8",
        last_modified=None,
        cache_control=f"public, max-age={_max_age()}",
        headers=render.ASSET_HEADERS,
    )


@public_blueprint.get("/<org_slug>/")
@public
async def public_index(org_slug: str) -> Response:
    """HTML index of an organization's published pages (themed 404 for unknown organizations)."""
    organization = await service.public_organization(org_slug)
    if organization is None:
        return await _not_found()
    theme = await service.find_theme(organization.id)
    pages = await service.published_pages(organization)
    body = render.render_index(organization, theme, pages)
    last = render.latest(organization.updated_at, theme.updated_at if theme else None, *(p.updated_at for p in pages))
    return await render.html(body, last_modified=last, max_age=_max_age())


@public_blueprint.get("/<org_slug>/theme.css")
@public
async def public_css(org_slug: str) -> Response:
    """The organization's theme as CSS: variables from the colors and font, then its custom CSS."""
    organization = await service.public_organization(org_slug)
    theme = await service.find_theme(organization.id) if organization else None
    body = render.render_css(organization, theme)
    return await render.conditional(
        body,
        "text/css; charset=utf-8",
        last_modified=theme.updated_at if theme else None,
        cache_control=f"public, max-age={_max_age()}",
        headers=render.ASSET_HEADERS,
        status=200 if organization else 404,
    )


@public_blueprint.get("/<org_slug>/assets/<name>")
@public
async def public_asset(org_slug: str, name: str) -> Response:
    """The organization's current logo or favicon (immutable: the name changes with the content)."""
    organization = await service.public_organization(org_slug)
    found = await service.public_asset(organization, name) if organization else None
    if found is None:
        raise not_found("asset")
    key, content_type = found
    try:
        data = b"".join([chunk async for chunk in current_platform().storage.open(key)])
    except FileNotFoundError:
        raise not_found("asset") from None
    return await render.conditional(
        data,
        content_type,
        last_modified=None,
        cache_control="public, max-age=31536000, immutable",
        headers=render.ASSET_HEADERS,
        etag=name.rsplit(".", 1)[0].rsplit("-", 1)[-1],
    )


@public_blueprint.get("/<org_slug>/<page_slug>")
@public
async def public_page(org_slug: str, page_slug: str) -> Response:
    """A published page as a complete, themed HTML document (themed 404 otherwise)."""
    organization = await service.public_organization(org_slug)
    if organization is None:
        return await _not_found()
    theme = await service.find_theme(organization.id)
    pages = await service.published_pages(organization)
    page = next((candidate for candidate in pages if candidate.slug == page_slug), None)
    if page is None:
        return await _not_found(organization, theme, pages)
    body = render.render_page(organization, theme, pages, page)
    last = render.latest(organization.updated_at, theme.updated_at if theme else None, *(p.updated_at for p in pages))
    return await render.html(body, last_modified=last, max_age=_max_age())
