"""Data lifecycle of notifications: erasing an organization's, and deleting old finished ones.

Finished means sent, read or failed: a queued notification is kept whatever its age, so
retention never drops a message that is still to be delivered.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from vetrai.plugins.notifications.models import Notification, NotificationPreference, NotificationTemplate

FINISHED = ("sent", "read", "failed")


async def purge_organization(organization_id: uuid.UUID) -> None:
    for model in (Notification, NotificationPreference, NotificationTemplate):
        await model.filter(organization_id=organization_id).delete()


async def purge_expired(organization_id: uuid.UUID, before: datetime) -> int:
    return await Notification.filter(
        organization_id=organization_id, status__in=FINISHED, created_at__lt=before
    ).delete()
