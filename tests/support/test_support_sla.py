"""SLA: policies per organization and priority, business hours, the paused clock, breaches."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from tests.support.conftest import API
from vetrai.core.conformance import in_process_worker
from vetrai.core.hooks import Schedule
from vetrai.plugins.support import service
from vetrai.plugins.support.models import Ticket
from vetrai.plugins.support.sla import add_minutes

BERLIN_HOURS = {"timezone": "Europe/Berlin", "days": [0, 1, 2, 3, 4], "start": "09:00", "end": "17:00"}


def test_add_minutes_wall_clock_and_business_hours():
    friday_4pm_berlin = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)  # 16:00 CET
    assert add_minutes(friday_4pm_berlin, 120) == friday_4pm_berlin + timedelta(hours=2)
    # 60 minutes left on Friday, 60 more on Monday from 09:00 CET
    assert add_minutes(friday_4pm_berlin, 120, BERLIN_HOURS) == datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    saturday = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    assert add_minutes(saturday, 30, BERLIN_HOURS) == datetime(2026, 11, 30, 8, 30, tzinfo=UTC)
    # across the end of summer time (25 Oct 2026): Friday 16:30 CEST + 60 min -> Monday 09:30 CET
    assert add_minutes(datetime(2026, 10, 23, 14, 30, tzinfo=UTC), 60, BERLIN_HOURS) == datetime(
        2026, 10, 26, 8, 30, tzinfo=UTC
    )
    # a whole working day is 8 hours
    monday_9 = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    assert add_minutes(monday_9, 8 * 60 + 1, BERLIN_HOURS) == datetime(2026, 12, 1, 8, 1, tzinfo=UTC)


async def test_default_policy_and_admin_update(client, team):
    response = await client.get(f"{API}/sla-policies", headers=team.requester.headers)
    assert response.status_code == 200
    policy = await response.get_json()
    assert policy["is_default"] is True
    assert policy["targets"]["urgent"] == {"first_response_minutes": 60, "resolution_minutes": 240}
    assert policy["business_hours"] is None

    update = {
        "targets": {
            "high": {"first_response_minutes": 30},
            "low": {"first_response_minutes": 600, "resolution_minutes": 6000},
        }
    }
    for actor in (team.agent, team.requester):
        assert (await client.put(f"{API}/sla-policies", json=update, headers=actor.headers)).status_code == 403
    response = await client.put(f"{API}/sla-policies", json=update, headers=team.admin.headers)
    assert response.status_code == 200
    policy = await response.get_json()
    assert policy["is_default"] is False
    assert policy["targets"]["high"] == {"first_response_minutes": 30, "resolution_minutes": 24 * 60}
    assert policy["targets"]["low"] == {"first_response_minutes": 600, "resolution_minutes": 6000}
    assert policy["targets"]["urgent"] == {"first_response_minutes": 60, "resolution_minutes": 240}

    response = await client.put(
        f"{API}/sla-policies", json={"business_hours": BERLIN_HOURS}, headers=team.admin.headers
    )
    policy = await response.get_json()
    assert policy["business_hours"] == BERLIN_HOURS
    assert policy["targets"]["high"]["first_response_minutes"] == 30
    response = await client.put(f"{API}/sla-policies", json={"business_hours": None}, headers=team.admin.headers)
    assert (await response.get_json())["business_hours"] is None


async def test_policy_is_per_organization(client, team, outsider_team, open_ticket):
    await client.put(
        f"{API}/sla-policies", json={"targets": {"high": {"first_response_minutes": 5}}}, headers=team.admin.headers
    )
    other = await (await client.get(f"{API}/sla-policies", headers=outsider_team.admin.headers)).get_json()
    assert other["is_default"] is True
    mine = await open_ticket(team.requester, priority="high")
    theirs = await open_ticket(outsider_team.requester, priority="high")

    def minutes(ticket):
        due = datetime.fromisoformat(ticket["sla"]["first_response_due_at"])
        return round((due - datetime.fromisoformat(ticket["created_at"])).total_seconds() / 60)

    assert minutes(mine) == 5
    assert minutes(theirs) == 240


INVALID_POLICIES = [
    {"targets": {"high": {"first_response_minutes": 0}}},
    {"targets": {"critical": {"first_response_minutes": 10}}},
    {"targets": {"high": {"first_response_minutes": "soon"}}},
    {"business_hours": {**BERLIN_HOURS, "timezone": "Mars/Olympus"}},
    {"business_hours": {**BERLIN_HOURS, "start": "18:00"}},
    {"business_hours": {**BERLIN_HOURS, "days": [7]}},
    {"business_hours": {**BERLIN_HOURS, "end": "25:00"}},
    {"unknown": True},
]


async def test_policy_validation(client, team):
    for body in INVALID_POLICIES:
        response = await client.put(f"{API}/sla-policies", json=body, headers=team.admin.headers)
        assert response.status_code == 422, body


async def test_business_hours_shape_due_times(client, team, open_ticket):
    await client.put(
        f"{API}/sla-policies",
        json={"business_hours": {"timezone": "UTC", "days": [0, 1, 2, 3, 4, 5, 6], "start": "00:00", "end": "23:59"}},
        headers=team.admin.headers,
    )
    ticket = await open_ticket(team.requester, priority="urgent")
    due = datetime.fromisoformat(ticket["sla"]["first_response_due_at"])
    created = datetime.fromisoformat(ticket["created_at"])
    assert timedelta(minutes=60) <= due - created <= timedelta(minutes=61)


async def test_pending_pauses_the_clock(client, team, open_ticket, app):
    ticket = await open_ticket(team.requester)
    url = f"{API}/tickets/{ticket['id']}"
    await client.put(url, json={"status": "in_progress"}, headers=team.agent.headers)
    response = await client.put(url, json={"status": "pending"}, headers=team.agent.headers)
    body = await response.get_json()
    assert body["sla"]["paused"] is True
    assert body["sla"]["resolution_seconds_left"] is None
    async with app.app.app_context():
        # pretend the customer took an hour to answer
        paused_at = (await Ticket.get(id=ticket["id"])).sla_paused_at
        await Ticket.filter(id=ticket["id"]).update(sla_paused_at=paused_at - timedelta(hours=1))
    response = await client.put(url, json={"status": "in_progress"}, headers=team.agent.headers)
    body = await response.get_json()
    assert body["sla"]["paused"] is False
    assert 3600 <= body["sla"]["paused_seconds"] <= 3610
    moved = datetime.fromisoformat(body["sla"]["resolution_due_at"]) - datetime.fromisoformat(
        ticket["sla"]["resolution_due_at"]
    )
    assert timedelta(hours=1) <= moved <= timedelta(hours=1, seconds=10)
    moved = datetime.fromisoformat(body["sla"]["first_response_due_at"]) - datetime.fromisoformat(
        ticket["sla"]["first_response_due_at"]
    )
    assert timedelta(hours=1) <= moved <= timedelta(hours=1, seconds=10)


async def overdue(app, ticket_id, **fields):
    past = datetime.now(UTC) - timedelta(minutes=5)
    async with app.app.app_context():
        await Ticket.filter(id=ticket_id).update(
            **{name: past for name in fields or ("first_response_due_at", "resolution_due_at")}
        )


async def test_periodic_check_marks_breaches_once(client, team, open_ticket, app, platform, events):
    running = await open_ticket(team.requester)
    answered = await open_ticket(team.requester)
    paused = await open_ticket(team.requester)
    await client.post(f"{API}/tickets/{answered['id']}/comments", json={"body": "hi"}, headers=team.agent.headers)
    for status in ("in_progress", "pending"):
        await client.put(f"{API}/tickets/{paused['id']}", json={"status": status}, headers=team.agent.headers)
    await client.put(f"{API}/tickets/{answered['id']}", json={"assignee_id": team.agent.id}, headers=team.admin.headers)
    for ticket in (running, answered, paused):
        await overdue(app, ticket["id"])

    async with app.app.app_context():
        assert await service.check_sla_breaches() == 3
        assert await service.check_sla_breaches() == 0

    breaches = sorted((data["ticket_id"], data["sla"]) for name, data, _ in events if name == "support.sla_breached")
    assert breaches == sorted(
        [(running["id"], "first_response"), (running["id"], "resolution"), (answered["id"], "resolution")]
    )
    assigned = next(
        data for name, data, _ in events if name == "support.sla_breached" and data["ticket_id"] == answered["id"]
    )
    assert assigned["recipients"] == [{"user_id": team.agent.id, "email": team.agent.user.email}]
    assert assigned["due_at"]

    body = await (await client.get(f"{API}/tickets/{running['id']}", headers=team.agent.headers)).get_json()
    assert body["sla"]["first_response_breached"] is True
    assert body["sla"]["resolution_breached"] is True
    assert body["sla"]["first_response_seconds_left"] < 0
    listed = await (await client.get(f"{API}/tickets?breached=true", headers=team.agent.headers)).get_json()
    assert {item["id"] for item in listed["items"]} == {running["id"], answered["id"]}
    listed = await (await client.get(f"{API}/tickets?breached=false", headers=team.agent.headers)).get_json()
    assert {item["id"] for item in listed["items"]} == {paused["id"]}
    assert ("support", Schedule("support.check_sla", 60.0)) in platform.schedules


async def test_check_runs_as_a_taskiq_task(client, team, open_ticket, app, platform):
    """The scheduled task name is registered and does its work when a worker runs it: in the
    server on SQLite (in-memory broker), through the Redis stream on Postgres."""
    ticket = await open_ticket(team.requester)
    await overdue(app, ticket["id"], first_response_due_at=True)
    task = platform.broker.find_task("support.check_sla")
    assert task is not None
    if platform.runs_tasks:
        result = await (await task.kiq()).wait_result(timeout=10)
        assert result.return_value == 1
    else:
        async with in_process_worker(platform):
            await task.kiq()
            for _ in range(200):
                async with app.app.app_context():
                    if (await Ticket.get(id=ticket["id"])).first_response_breached:
                        break
                await asyncio.sleep(0.05)
    body = await (await client.get(f"{API}/tickets/{ticket['id']}", headers=team.agent.headers)).get_json()
    assert body["sla"]["first_response_breached"] is True
    assert body["sla"]["resolution_breached"] is False


async def test_late_first_response_and_late_resolution_are_breaches(client, team, open_ticket, app, events):
    ticket = await open_ticket(team.requester)
    await overdue(app, ticket["id"])
    await client.post(
        f"{API}/tickets/{ticket['id']}/comments", json={"body": "sorry for the wait"}, headers=team.agent.headers
    )
    await client.put(f"{API}/tickets/{ticket['id']}", json={"status": "in_progress"}, headers=team.agent.headers)
    response = await client.put(
        f"{API}/tickets/{ticket['id']}", json={"status": "resolved"}, headers=team.agent.headers
    )
    body = await response.get_json()
    assert body["sla"]["first_response_breached"] is True
    assert body["sla"]["resolution_breached"] is True
    assert sorted(data["sla"] for name, data, _ in events if name == "support.sla_breached") == [
        "first_response",
        "resolution",
    ]
    async with app.app.app_context():
        assert await service.check_sla_breaches() == 0


async def test_lowering_priority_moves_due_times_and_clears_a_breach(client, team, open_ticket, app):
    ticket = await open_ticket(team.requester, priority="urgent")
    async with app.app.app_context():
        await Ticket.filter(id=ticket["id"]).update(created_at=datetime.now(UTC) - timedelta(hours=2))
        await Ticket.filter(id=ticket["id"]).update(first_response_due_at=datetime.now(UTC) - timedelta(hours=1))
        assert await service.check_sla_breaches() == 1
    response = await client.put(f"{API}/tickets/{ticket['id']}", json={"priority": "low"}, headers=team.agent.headers)
    body = await response.get_json()
    assert body["sla"]["first_response_breached"] is False
    assert body["sla"]["first_response_seconds_left"] > 20 * 3600
