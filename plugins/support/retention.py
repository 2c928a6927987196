"""Erasing an organization's tickets and attachment files (the ``vetrai_purge_organization`` hook).

Files go before rows: if the storage fails half-way, the rows still name what is left and the
purge, retried, finishes it (deleting a missing file is not an error).
"""

from __future__ import annotations

import uuid

from vetrai.core.platform import Platform
from vetrai.plugins.support.models import SlaPolicy, Ticket, TicketAttachment, TicketComment


async def purge_organization(platform: Platform, organization_id: uuid.UUID) -> None:
    for key in await TicketAttachment.filter(organization_id=organization_id).values_list("storage_key", flat=True):
        await platform.storage.delete(key)
    for model in (TicketAttachment, TicketComment, Ticket, SlaPolicy):
        await model.filter(organization_id=organization_id).delete()
