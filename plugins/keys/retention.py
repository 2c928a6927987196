"""Erasing an organization's API keys and their usage (the ``vetrai_purge_organization`` hook)."""

from __future__ import annotations

import uuid

from vetrai.plugins.keys.models import ApiKey, ApiKeyUsage


async def purge_organization(organization_id: uuid.UUID) -> None:
    await ApiKeyUsage.filter(organization_id=organization_id).delete()
    await ApiKey.filter(organization_id=organization_id).delete()
