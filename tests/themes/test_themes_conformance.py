"""The conformance kit (``vetrai.core.conformance``) run against the themes plugin."""

from __future__ import annotations

import uuid

from vetrai.core.conformance import Kit, KitUser, PluginConformance, Resource

NOT_JSON = "public route answering HTML, CSS or an image (tested in test_themes_public.py), not a JSON schema"


async def _page(kit: Kit, owner: KitUser) -> str:
    slug = f"page-{uuid.uuid4().hex[:12]}"
    response = await owner.post(
        "/api/v1/themes/pages", json={"slug": slug, "title": "Conformance", "content": "<p>x</p>"}
    )
    assert response.status_code == 201, await response.get_data(as_text=True)
    return slug


class TestConformanceThemes(PluginConformance):
    plugin = "themes"
    resource_list = (Resource("/api/v1/themes/pages/<slug>", _page, body={"title": "Mallory"}),)
    skip = {
        "schemas:GET /p/theme.css": NOT_JSON,
        "schemas:GET /p/<org_slug>/": NOT_JSON,
        "schemas:GET /p/<org_slug>/theme.css": NOT_JSON,
        "schemas:GET /p/<org_slug>/assets/<name>": NOT_JSON,
        "schemas:GET /p/<org_slug>/<page_slug>": NOT_JSON,
        "tenant_isolation:POST /api/v1/themes/assets/<kind>": "<kind> is logo or favicon of the caller's own "
        "organization's theme, not an object id (another organization is only reachable by super_admin's "
        "?organization_id=, tested in test_themes_api.py)",
        "tenant_isolation:DELETE /api/v1/themes/assets/<kind>": "<kind> is logo or favicon of the caller's own "
        "organization's theme, not an object id",
        "tenant_lists": "pages are addressed by slug while list items carry ids: the list isolation of pages "
        "is tested in test_themes_pages.py",
    }
