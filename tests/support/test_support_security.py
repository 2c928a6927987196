"""Attacks on support: SLA policies that made every ticket creation fail, names that lie about files."""

from __future__ import annotations

import pytest

from tests.support.conftest import API
from tests.support.test_support_attachments import PDF, upload
from vetrai.plugins.support.files import sanitize_filename
from vetrai.plugins.support.models import SlaPolicy

ONE_MINUTE_A_WEEK = {"timezone": "UTC", "days": [0], "start": "09:00", "end": "09:01"}
YEAR = 525_600


@pytest.mark.parametrize(
    "policy",
    [
        # the reviewed attack: year-long targets, one working minute a week
        {
            "targets": {p: {"first_response_minutes": YEAR, "resolution_minutes": YEAR} for p in ("low", "urgent")},
            "business_hours": ONE_MINUTE_A_WEEK,
        },
        # the same hours with the default targets
        {"business_hours": ONE_MINUTE_A_WEEK},
        # reasonable hours, targets decades away in working time
        {
            "targets": {"low": {"resolution_minutes": YEAR}},
            "business_hours": {"timezone": "UTC", "days": [0], "start": "09:00", "end": "10:00"},
        },
    ],
)
async def test_unreachable_sla_policies_are_refused_and_tickets_still_open(client, team, open_ticket, policy):
    response = await client.put(f"{API}/sla-policies", json=policy, headers=team.admin.headers)
    assert response.status_code == 422
    for priority in ("low", "medium", "high", "urgent"):
        ticket = await open_ticket(team.requester, priority=priority)
        assert ticket["sla"]["first_response_due_at"]


async def test_a_stored_unreachable_policy_no_longer_breaks_ticket_creation(client, team, open_ticket):
    """A policy saved before the check (written straight to the table) falls back to wall-clock time."""
    await SlaPolicy.create(
        organization_id=team.organization.id,
        targets={"urgent": {"first_response_minutes": YEAR, "resolution_minutes": YEAR}},
        business_hours=ONE_MINUTE_A_WEEK,
    )
    response = await client.post(
        f"{API}/tickets",
        json={"subject": "Still works", "description": "x", "priority": "urgent"},
        headers=team.requester.headers,
    )
    assert response.status_code == 201, await response.get_data(as_text=True)


async def test_a_generous_policy_is_still_accepted(client, team):
    policy = {
        "targets": {"low": {"first_response_minutes": YEAR, "resolution_minutes": YEAR}},
        "business_hours": {"timezone": "Europe/Berlin", "days": [0, 1, 2, 3, 4], "start": "09:00", "end": "17:00"},
    }
    assert (await client.put(f"{API}/sla-policies", json=policy, headers=team.admin.headers)).status_code == 200


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("invoice\u202efdp.exe", "invoicefdp.exe"),  # right-to-left override: shown as "invoiceexe.pdf"
        ("report\u202d\u202c\u2066\u2067\u2068\u2069.pdf", "report.pdf"),
        ("a\u200bb\u200fc\u061c.pdf", "abc.pdf"),  # zero-width space, RLM, Arabic letter mark
        ("line\u2028break\u2029.pdf", "linebreak.pdf"),
        ("bell\x07\x1b[31m\x85.pdf", "bell__[31m.pdf"),
        ("\ufeffbom.pdf", "bom.pdf"),
        ("\u202e", "attachment"),
    ],
)
def test_filenames_lose_control_and_bidi_characters(name, shown):
    assert sanitize_filename(name) == shown


async def test_an_uploaded_bidi_name_is_stored_clean(client, team, open_ticket):
    ticket = await open_ticket(team.requester)
    response = await upload(client, team.requester, ticket, PDF, filename="invoice\u202efdp.exe")
    assert response.status_code == 201
    assert (await response.get_json())["filename"] == "invoicefdp.exe"
