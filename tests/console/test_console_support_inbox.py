"""Support (requester and agent) and the notifications inbox in the console, over HTTP."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from tests.console.conftest import PASSWORD, PLUGINS, csrf_of, wait_for
from vetrai.core.config import Settings


@pytest.fixture
def settings(settings_factory: Callable[..., Settings]) -> Settings:
    return settings_factory(plugins=[*PLUGINS, "support", "notifications"])


async def add_user(client: Any, admin: dict[str, Any], email: str, role: str) -> str:
    response = await client.post(
        "/api/v1/users",
        json={"email": email, "password": PASSWORD, "role": role, "email_verified": True},
        headers=admin["headers"],
    )
    assert response.status_code == 201, await response.get_data(as_text=True)
    return (await response.get_json())["id"]


async def test_a_ticket_is_opened_answered_and_closed_by_requester_and_agent(browser_client, register, client):
    admin = await register()
    await add_user(client, admin, "customer@example.com", "user")
    agent_id = await add_user(client, admin, "agent@example.com", "support_agent")
    requester, agent = browser_client(), browser_client()
    await requester.sign_in("customer@example.com")
    await agent.sign_in("agent@example.com")

    opened = await requester.submit(
        "/console/support",
        "/console/support",
        {"subject": "Export is broken", "description": "The CSV export fails.", "priority": "high"},
    )
    assert opened.status_code == 303
    ticket_path = opened.headers["Location"].split("?")[0]
    ticket_id = ticket_path.rsplit("/", 1)[-1]
    await requester.get(ticket_path)
    assert "Export is broken" in requester.last_html and "first reply" in requester.last_html
    assert "Set status" not in requester.last_html  # requesters get no agent controls

    await agent.get("/console/support")
    assert "Support inbox" in agent.last_html and f'data-ticket-id="{ticket_id}"' in agent.last_html
    assert (await agent.submit(ticket_path, ticket_path, {"assign": "me"})).status_code == 303
    note = await agent.submit(
        ticket_path, f"{ticket_path}/comments", {"body": "Looks like the S3 bucket again", "internal": "true"}
    )
    assert note.status_code == 303
    public = await agent.submit(ticket_path, f"{ticket_path}/comments", {"body": "We are on it."})
    assert public.status_code == 303
    moved = await agent.submit(ticket_path, ticket_path, {"status": "in_progress"})
    assert moved.status_code == 303
    await agent.get(ticket_path)
    assert "agent@example.com" in agent.last_html and "internal note" in agent.last_html
    assert 'class="badge ticket-in_progress"' in agent.last_html
    invalid = await agent.submit(ticket_path, ticket_path, {"status": "open"})
    assert invalid.status_code == 409  # the API's transition rules, shown on the page

    await requester.get(ticket_path)
    assert "We are on it." in requester.last_html
    assert "S3 bucket" not in requester.last_html  # internal notes never reach the requester
    closed = await requester.submit(ticket_path, ticket_path, {"status": "closed"})
    assert closed.status_code == 303
    ticket = await (await client.get(f"/api/v1/support/tickets/{ticket_id}", headers=admin["headers"])).get_json()
    assert ticket["status"] == "closed" and ticket["assignee_id"] == agent_id

    await agent.get("/console/support?status=closed")
    assert f'data-ticket-id="{ticket_id}"' in agent.last_html
    await agent.get("/console/support?status=open")
    assert f'data-ticket-id="{ticket_id}"' not in agent.last_html


async def test_another_organizations_ticket_is_a_404_page(browser_client, register, client):
    owner = await register("Owner")
    intruder = await register("Intruder")
    created = await client.post(
        "/api/v1/support/tickets",
        json={"subject": "Private", "description": "secret details"},
        headers=owner["headers"],
    )
    ticket_id = (await created.get_json())["id"]
    browser = browser_client()
    await browser.sign_in(intruder["email"])
    response = await browser.get(f"/console/support/{ticket_id}")
    assert response.status_code == 404 and "secret details" not in browser.last_html
    token = csrf_of(browser.last_html)
    reply = await browser.post(f"/console/support/{ticket_id}/comments", {"body": "hi"}, csrf=token)
    assert reply.status_code == 404


async def test_the_inbox_shows_in_app_notifications_and_marks_them_read(browser_client, register, client):
    admin = await register()
    browser = browser_client()
    await browser.sign_in(admin["email"])
    await browser.get("/console/runs")
    assert 'href="/console/inbox"' in browser.last_html and 'href="/console/support"' in browser.last_html
    # A successful run notifies nobody, so the admin sends themselves an in-app message.
    sent = await client.post(
        "/api/v1/notifications",
        headers=admin["headers"],
        json={"channel": "in_app", "recipient_id": admin["user"]["id"], "subject": "Hello", "body": "from the API"},
    )
    assert sent.status_code in (201, 202), await sent.get_data(as_text=True)

    async def delivered() -> bool:
        await browser.get("/console/inbox?unread=true")
        return "data-notification-id" in browser.last_html

    await wait_for(delivered, what="the in-app notification")
    notification_id = re.search(r'data-notification-id="([^"]+)"', browser.last_html).group(1)
    assert "new</span>" in browser.last_html
    read = await browser.post(f"/console/inbox/{notification_id}/read", csrf=csrf_of(browser.last_html))
    assert read.status_code == 303
    await browser.get("/console/inbox?unread=true")
    assert notification_id not in browser.last_html
    await browser.get("/console/inbox")
    assert notification_id in browser.last_html
    everything = await browser.post("/console/inbox/read-all", csrf=csrf_of(browser.last_html))
    assert everything.status_code == 303 and everything.headers["Location"].endswith("done=all-read")


async def test_support_and_inbox_leave_the_menu_when_their_plugins_are_off(settings_factory):
    from vetrai.core.app import create_app

    app = create_app(settings_factory(plugins=["auth", "console"]))
    async with app.test_app() as running:
        client = running.test_client()
        registered = await client.post(
            "/api/v1/register", json={"email": "solo@example.com", "password": PASSWORD, "organization_name": "Solo"}
        )
        assert registered.status_code == 201
        login = await client.get("/console/login")
        await client.post(
            "/console/login",
            form={
                "email": "solo@example.com",
                "password": PASSWORD,
                "csrf_token": csrf_of(await login.get_data(as_text=True)),
                "next": "/console/organization",
            },
        )
        page = await client.get("/console/organization")
        html = await page.get_data(as_text=True)
        assert page.status_code == 200
        nav = html[html.index('<ul class="nav">') : html.index("</ul>")]
        assert "/console/organization" in nav
        for absent in ("/console/runs", "/console/keys", "/console/support", "/console/inbox"):
            assert absent not in nav
