"""The conformance kit run against the support plugin (the resources below can move to
tests/conformance/resources.py when support joins PLUGINS there)."""

from __future__ import annotations

import uuid

from vetrai.core.conformance import Kit, KitUser, PluginConformance, Resource

TICKETS = "/api/v1/support/tickets"
TICKET = "/api/v1/support/tickets/<ticket_id>"
ATTACHMENT = "/api/v1/support/tickets/<ticket_id>/attachments/<attachment_id>"


async def _attachment(kit: Kit, owner: KitUser) -> dict[str, str]:
    response = await owner.post(TICKETS, json={"subject": "with a file", "description": "see attached"})
    assert response.status_code == 201, response.status_code
    ticket_id = (await response.get_json())["id"]
    boundary = uuid.uuid4().hex
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
        f'filename="log.txt"\r\n\r\nhello\r\n--{boundary}--\r\n'
    ).encode()
    response = await owner.post(
        f"{TICKETS}/{ticket_id}/attachments",
        data=body,
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert response.status_code == 201, await response.get_data(as_text=True)
    return {"ticket_id": ticket_id, "attachment_id": (await response.get_json())["id"]}


SUPPORT_RESOURCES = [
    Resource.by_post(
        TICKETS,
        TICKET,
        {"subject": "Conformance", "description": "a ticket", "priority": "low"},
        bodies={f"POST {TICKET}/comments": {"body": "Mallory was here"}},
    ),
    Resource(ATTACHMENT, _attachment, list=f"{TICKET}/attachments"),
]


class TestSupportConformance(PluginConformance):
    plugin = "support"
    resource_list = SUPPORT_RESOURCES
