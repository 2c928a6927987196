"""Erasing an organization's users (the ``vetrai_purge_organization`` hook).

Sessions, refresh and opaque access tokens and one-time tokens belong to a user and go with it
(foreign keys with ON DELETE CASCADE). Revoked JWT ids carry no user and expire on their own.
"""

from __future__ import annotations

import uuid

from vetrai.plugins.auth.models import User


async def purge_organization(organization_id: uuid.UUID) -> None:
    await User.filter(organization_id=organization_id).delete()
