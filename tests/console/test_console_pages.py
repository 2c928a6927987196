"""The console's pages over HTTP: runs (start, interrupt, cancel, retry, stream), keys, members, tenancy, roles."""

from __future__ import annotations

import json
import re
from typing import Any

from tests.console.conftest import PASSWORD, csrf_of, wait_for


async def template_id(client: Any, headers: dict[str, str], name: str) -> str:
    response = await client.get("/api/v1/workers/templates?limit=200", headers=headers)
    return next(item["id"] for item in (await response.get_json())["items"] if item["name"] == name)


async def start_run(browser: Any, client: Any, headers: dict[str, str], name: str, values: dict[str, Any]) -> str:
    response = await browser.submit(
        "/console/runs",
        "/console/runs",
        {"template_id": await template_id(client, headers, name), "input": json.dumps(values)},
    )
    assert response.status_code == 303, browser.last_html[:500]
    return response.headers["Location"].rsplit("/", 1)[-1]


async def run_status(client: Any, headers: dict[str, str], run_id: str) -> str:
    return (await (await client.get(f"/api/v1/workers/jobs/{run_id}", headers=headers)).get_json())["status"]


async def test_approval_run_is_answered_through_the_interrupt_form(browser_client, register, client):
    admin = await register()
    browser = browser_client()
    await browser.sign_in(admin["email"])
    run_id = await start_run(browser, client, admin["headers"], "approval", {"request": "Ship release 1.2?"})

    async def form_shown() -> bool:
        await browser.get(f"/console/runs/{run_id}")
        return 'id="resume-form"' in browser.last_html

    await wait_for(form_shown, what="the interrupt form")
    assert "Ship release 1.2?" in browser.last_html
    assert 'name="approved" value="true"' in browser.last_html and 'name="comment"' in browser.last_html
    token = csrf_of(browser.last_html)

    missing = await browser.post(f"/console/runs/{run_id}/resume", {"comment": "no decision"}, csrf=token)
    assert missing.status_code == 422 and "is required" in browser.last_html

    answered = await browser.post(
        f"/console/runs/{run_id}/resume", {"approved": "true", "comment": "go ahead"}, csrf=token
    )
    assert answered.status_code == 303 and answered.headers["Location"].endswith("?done=resumed")
    await wait_for(
        lambda: _status_is(client, admin["headers"], run_id, "succeeded"), what="the approval run to succeed"
    )
    job = await (await client.get(f"/api/v1/workers/jobs/{run_id}", headers=admin["headers"])).get_json()
    assert job["output"] == {"approved": True, "comment": "go ahead"}
    await browser.get(f"/console/runs/{run_id}")
    assert "status-succeeded" in browser.last_html and "go ahead" in browser.last_html


async def _status_is(client: Any, headers: dict[str, str], run_id: str, status: str) -> bool:
    return await run_status(client, headers, run_id) == status


async def test_a_bad_run_input_is_shown_not_started(browser_client, register, client):
    admin = await register()
    browser = browser_client()
    await browser.sign_in(admin["email"])
    approval = await template_id(client, admin["headers"], "approval")
    not_json = await browser.submit("/console/runs", "/console/runs", {"template_id": approval, "input": "{nope"})
    assert not_json.status_code == 422 and "must be a JSON object" in browser.last_html
    invalid = await browser.submit("/console/runs", "/console/runs", {"template_id": approval, "input": "{}"})
    assert invalid.status_code == 422 and "request" in browser.last_html
    jobs = await client.get("/api/v1/workers/jobs", headers=admin["headers"])
    assert (await jobs.get_json())["items"] == []


async def test_cancel_and_filters(browser_client, register, client):
    admin = await register()
    browser = browser_client()
    await browser.sign_in(admin["email"])
    run_id = await start_run(browser, client, admin["headers"], "sleep", {"seconds": 30, "steps": 30})
    response = await browser.submit(f"/console/runs/{run_id}", f"/console/runs/{run_id}/cancel")
    assert response.status_code == 303
    await wait_for(lambda: _status_is(client, admin["headers"], run_id, "cancelled"), what="the run to be cancelled")
    # Cancelling again (already finished) just shows the run.
    again = await browser.submit(f"/console/runs/{run_id}", f"/console/runs/{run_id}/cancel")
    assert again.status_code == 303 and again.headers["Location"] == f"/console/runs/{run_id}"
    await browser.get(f"/console/runs/{run_id}")
    assert 'id="retry-run"' in browser.last_html  # a cancelled run can be retried

    echo_id = await start_run(browser, client, admin["headers"], "echo", {"hello": "world"})
    await wait_for(lambda: _status_is(client, admin["headers"], echo_id, "succeeded"), what="echo to succeed")
    await browser.get("/console/runs?status=cancelled")
    assert run_id in browser.last_html and echo_id not in browser.last_html
    echo_template = await template_id(client, admin["headers"], "echo")
    await browser.get(f"/console/runs?template_id={echo_template}")
    assert echo_id in browser.last_html and run_id not in browser.last_html


async def test_a_failed_run_is_retried_from_the_console(browser_client, register, client):
    admin = await register()
    browser = browser_client()
    await browser.sign_in(admin["email"])
    flaky = await template_id(client, admin["headers"], "flaky")
    created = await client.post(
        "/api/v1/workers/templates",
        json={"name": "flaky-once", "workflow": "flaky", "defaults": {"max_attempts": 1}, "description": "x"},
        headers=admin["headers"],
    )
    assert created.status_code == 201, await created.get_data(as_text=True)
    assert flaky
    run_id = await start_run(browser, client, admin["headers"], "flaky-once", {"fail_times": 1})
    await wait_for(lambda: _status_is(client, admin["headers"], run_id, "failed"), what="the run to fail")
    await browser.get(f"/console/runs/{run_id}")
    assert "planned failure" in browser.last_html and 'id="retry-run"' in browser.last_html
    response = await browser.post(f"/console/runs/{run_id}/retry", csrf=csrf_of(browser.last_html))
    assert response.status_code == 303 and response.headers["Location"].endswith("?done=retried")
    await wait_for(lambda: _status_is(client, admin["headers"], run_id, "succeeded"), what="the retry to succeed")


async def test_the_run_stream_sends_timeline_and_status_then_ends(browser_client, register, client):
    admin = await register()
    browser = browser_client()
    await browser.sign_in(admin["email"])
    run_id = await start_run(browser, client, admin["headers"], "sleep", {"seconds": 0.3, "steps": 3})
    await wait_for(lambda: _status_is(client, admin["headers"], run_id, "succeeded"), what="sleep to succeed")
    response = await browser.get(f"/console/runs/{run_id}/stream")
    assert response.status_code == 200 and response.mimetype == "text/event-stream"
    events = re.findall(r"event: (\w+)\ndata: (.*)\n", browser.last_html)
    kinds = [kind for kind, _data in events]
    assert kinds.count("timeline") >= 5 and kinds[-1] == "end" and "run" in kinds
    progress = [json.loads(data) for kind, data in events if kind == "timeline" and '"progress"' in data]
    assert [event["data"]["step"] for event in progress] == [1, 2, 3]
    assert json.loads(events[-1][1]) == {"status": "succeeded"}
    # Resuming after an event id sends only what came later.
    last_id = max(int(value) for value in re.findall(r"^id: (\d+)$", browser.last_html, re.MULTILINE))
    later = await browser.get(f"/console/runs/{run_id}/stream?after={last_id}")
    assert later.status_code == 200 and "event: timeline" not in browser.last_html


async def test_the_run_page_draws_the_graph(browser_client, register, client):
    admin = await register()
    browser = browser_client()
    await browser.sign_in(admin["email"])
    run_id = await start_run(
        browser,
        client,
        admin["headers"],
        "document_triage",
        {"title": "Mail", "text": "Invoice overdue, please pay.\n\nThe server is down, urgent outage."},
    )
    await wait_for(lambda: _status_is(client, admin["headers"], run_id, "succeeded"), what="triage to succeed")
    await browser.get(f"/console/runs/{run_id}")
    graph = await (
        await client.get(
            f"/api/v1/workers/templates/{await template_id(client, admin['headers'], 'document_triage')}/graph",
            headers=admin["headers"],
        )
    ).get_json()
    drawn = re.findall(r'data-node="([^"]+)"', browser.last_html)
    assert sorted(drawn) == sorted(graph["nodes"])
    assert browser.last_html.count('class="edge') == len(graph["edges"])
    assert 'class="node terminal done" data-node="__end__"' in browser.last_html


async def test_keys_are_created_shown_once_and_revoked(browser_client, register, client):
    admin = await register()
    browser = browser_client()
    await browser.sign_in(admin["email"])
    created = await browser.submit("/console/keys", "/console/keys", {"name": "ci", "scopes": "workers:read"})
    assert created.status_code == 201
    secret = re.search(r'id="new-key" class="mono" type="text" readonly value="(vk_[^"]+)"', browser.last_html)
    assert secret, "the new key is shown"
    usable = await client.get("/api/v1/workers/jobs", headers={"Authorization": f"Bearer {secret.group(1)}"})
    assert usable.status_code == 200
    await browser.get("/console/keys")
    assert secret.group(1) not in browser.last_html  # shown once only
    key_id = re.search(r'data-key-id="([^"]+)"', browser.last_html).group(1)
    revoked = await browser.post(f"/console/keys/{key_id}/revoke", csrf=csrf_of(browser.last_html))
    assert revoked.status_code == 303
    refused = await client.get("/api/v1/workers/jobs", headers={"Authorization": f"Bearer {secret.group(1)}"})
    assert refused.status_code == 401
    scopes_refused = await browser.submit("/console/keys", "/console/keys", {"name": "too much", "scopes": "nope:x"})
    assert scopes_refused.status_code == 422


async def test_a_keys_usage_is_charted_per_day(browser_client, register, client):
    admin = await register()
    browser = browser_client()
    await browser.sign_in(admin["email"])
    await browser.submit("/console/keys", "/console/keys", {"name": "metered", "scopes": "workers:read"})
    secret = re.search(r'readonly value="(vk_[^"]+)"', browser.last_html).group(1)
    for _ in range(3):
        assert (await client.get("/api/v1/workers/jobs", headers={"X-API-Key": secret})).status_code == 200
    await browser.get("/console/keys")
    key_id = re.search(r'data-key-id="([^"]+)"', browser.last_html).group(1)

    async def counted() -> bool:
        response = await browser.get(f"/console/keys/{key_id}")
        assert response.status_code == 200
        return '<dd id="total-requests">3</dd>' in browser.last_html

    await wait_for(counted, what="the key's usage to be flushed")
    bars = re.findall(r'<g class="bar" data-date="([^"]+)" data-requests="(\d+)">', browser.last_html)
    assert len(bars) == 30 and bars[-1][1] == "3" and all(count == "0" for _day, count in bars[:-1])
    assert "/api/v1/workers/jobs" in browser.last_html


async def test_members_are_added_and_their_role_changed(browser_client, register, client):
    admin = await register()
    browser = browser_client()
    await browser.sign_in(admin["email"])
    added = await browser.submit(
        "/console/organization",
        "/console/organization/members",
        {"email": "new.member@example.com", "password": PASSWORD, "role": "user", "first_name": "New"},
    )
    assert added.status_code == 303
    users = await (await client.get("/api/v1/users", headers=admin["headers"])).get_json()
    member = next(user for user in users["items"] if user["email"] == "new.member@example.com")
    assert member["role"] == "user"
    changed = await browser.submit(
        "/console/organization", f"/console/organization/members/{member['id']}", {"role": "support_agent"}
    )
    assert changed.status_code == 303
    again = await (await client.get(f"/api/v1/users/{member['id']}", headers=admin["headers"])).get_json()
    assert again["role"] == "support_agent"
    duplicate = await browser.submit(
        "/console/organization",
        "/console/organization/members",
        {"email": "new.member@example.com", "password": PASSWORD, "role": "user"},
    )
    assert duplicate.status_code == 409
    demote_self = await browser.submit(
        "/console/organization", f"/console/organization/members/{admin['user']['id']}", {"role": "user"}
    )
    assert demote_self.status_code in (403, 409)  # the API refuses (last org_admin); the page says why
    await browser.get("/console/organization")
    assert "<meter" in browser.last_html and "Members" in browser.last_html and "Runs this month" in browser.last_html
    stored = await (
        await client.get(f"/api/v1/organizations/{admin['user']['organization_id']}/usage", headers=admin["headers"])
    ).get_json()
    assert "Storage (bytes)" in browser.last_html
    assert f"{stored['storage_bytes']} of {stored['max_storage_bytes']}" in browser.last_html  # the API's own sum


async def test_another_organizations_objects_are_404_pages(browser_client, register, client):
    owner = await register("Owner Org")
    intruder = await register("Intruder Org")
    owner_browser = browser_client()
    await owner_browser.sign_in(owner["email"])
    run_id = await start_run(owner_browser, client, owner["headers"], "approval", {"request": "secret plan"})
    await owner_browser.submit("/console/keys", "/console/keys", {"name": "owner key", "scopes": "workers:read"})
    key_id = re.search(r'data-key-id="([^"]+)"', owner_browser.last_html).group(1)
    owner_users = await (await client.get("/api/v1/users", headers=owner["headers"])).get_json()
    owner_user_id = owner_users["items"][0]["id"]

    browser = browser_client()
    await browser.sign_in(intruder["email"])
    for path in (f"/console/runs/{run_id}", f"/console/runs/{run_id}/stream"):
        response = await browser.get(path)
        assert response.status_code == 404, path
        assert "secret plan" not in browser.last_html
    await browser.get("/console/runs")
    assert run_id not in browser.last_html
    token = csrf_of(browser.last_html)
    for action, form in (
        (f"/console/runs/{run_id}/cancel", {}),
        (f"/console/runs/{run_id}/resume", {"approved": "true"}),
        (f"/console/keys/{key_id}/revoke", {}),
        (f"/console/organization/members/{owner_user_id}", {"is_active": "false"}),
    ):
        response = await browser.post(action, form, csrf=token)
        assert response.status_code == 404, action
    assert await run_status(client, owner["headers"], run_id) in ("queued", "running", "interrupted")
    key = await (await client.get(f"/api/v1/keys/{key_id}", headers=owner["headers"])).get_json()
    assert key["status"] == "active"
    user = await (await client.get(f"/api/v1/users/{owner_user_id}", headers=owner["headers"])).get_json()
    assert user["is_active"] is True


async def test_a_plain_user_sees_no_organization_page(browser_client, register, client):
    admin = await register()
    created = await client.post(
        "/api/v1/users",
        json={"email": "plain@example.com", "password": PASSWORD, "role": "user", "email_verified": True},
        headers=admin["headers"],
    )
    assert created.status_code == 201
    browser = browser_client()
    await browser.sign_in("plain@example.com")
    await browser.get("/console/runs")
    assert 'href="/console/organization"' not in browser.last_html
    assert 'href="/console/keys"' in browser.last_html
    response = await browser.get("/console/organization")
    assert response.status_code == 403  # the API's answer to a user reading the member list


async def test_a_key_is_rotated_and_created_with_a_rate_limit(browser_client, register, client):
    admin = await register()
    browser = browser_client()
    await browser.sign_in(admin["email"])
    bad = await browser.submit(
        "/console/keys", "/console/keys", {"name": "limited", "scopes": "workers:read", "rate_requests": "ten"}
    )
    assert bad.status_code == 422 and "two whole numbers" in browser.last_html
    created = await browser.submit(
        "/console/keys",
        "/console/keys",
        {"name": "limited", "scopes": "workers:read", "rate_requests": "10", "rate_window": "60"},
    )
    assert created.status_code == 201 and "10 / 60 s" in browser.last_html
    old_secret = re.search(r'readonly value="(vk_[^"]+)"', browser.last_html).group(1)
    key_id = re.search(r'data-key-id="([^"]+)"', browser.last_html).group(1)
    rotated = await browser.post(f"/console/keys/{key_id}/rotate", csrf=csrf_of(browser.last_html))
    assert rotated.status_code == 201 and "rotated" in browser.last_html
    new_secret = re.search(r'readonly value="(vk_[^"]+)"', browser.last_html).group(1)
    assert new_secret != old_secret
    for secret in (old_secret, new_secret):  # the old key works during the grace period
        response = await client.get("/api/v1/workers/jobs", headers={"X-API-Key": secret})
        assert response.status_code == 200


async def test_the_organization_page_shows_recent_activity(browser_client, register):
    admin = await register()
    browser = browser_client()
    await browser.sign_in(admin["email"])
    await browser.submit(
        "/console/organization",
        "/console/organization/members",
        {"email": "audited@example.com", "password": PASSWORD, "role": "user"},
    )
    await browser.get("/console/organization")
    activity = browser.last_html[browser.last_html.index('id="audit-heading"') :]
    assert "auth.user_created" in activity and "auth.login_succeeded" in activity
    assert admin["email"] in activity and "audited@example.com" in activity
