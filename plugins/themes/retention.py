"""Erasing an organization's theme, logo and favicon files and pages (the ``vetrai_purge_organization`` hook)."""

from __future__ import annotations

import uuid

from vetrai.core.platform import Platform
from vetrai.plugins.themes.models import Page, Theme


async def purge_organization(platform: Platform, organization_id: uuid.UUID) -> None:
    for logo, favicon in await Theme.filter(organization_id=organization_id).values_list("logo_key", "favicon_key"):
        for key in (logo, favicon):
            if key:
                await platform.storage.delete(key)
    await Page.filter(organization_id=organization_id).delete()
    await Theme.filter(organization_id=organization_id).delete()
