"""Notification preferences for everyone, templates with a preview render for admins, on the notifications API."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import pytest

from tests.console.conftest import PLUGINS, csrf_of
from vetrai.core.config import Settings


@pytest.fixture
def settings(settings_factory: Callable[..., Settings]) -> Settings:
    return settings_factory(plugins=[*PLUGINS, "notifications"])


async def preferences_of(client: Any, headers: dict[str, str]) -> dict[str, Any]:
    return await (await client.get("/api/v1/notifications/preferences", headers=headers)).get_json()


async def test_unticked_boxes_become_opt_outs(browser_client, register, client):
    admin = await register()
    browser = browser_client()
    await browser.sign_in(admin["email"])
    await browser.get("/console/inbox")
    assert 'href="/console/notifications/preferences"' in browser.last_html
    await browser.get("/console/notifications/preferences")
    current = await preferences_of(client, admin["headers"])
    assert current["opt_outs"] == [] and 'name="on"' in browser.last_html
    channels = current["channels"]
    categories = [category["name"] for category in current["categories"] if category["can_opt_out"]]
    keep = [f"{category}:{channel}" for category in categories for channel in channels if channel != "email"]

    fields = [("csrf_token", csrf_of(browser.last_html)), *(("on", value) for value in keep)]
    saved = await browser.client.post(
        "/console/notifications/preferences",
        data=urlencode(fields),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert saved.status_code == 303 and saved.headers["Location"].endswith("?done=preferences-saved")
    opt_outs = (await preferences_of(client, admin["headers"]))["opt_outs"]
    assert sorted((rule["category"], rule["channel"]) for rule in opt_outs) == sorted(
        (category, "email") for category in categories
    )
    await browser.get("/console/notifications/preferences")
    email_box = re.search(rf'value="{categories[0]}:email" id="[^"]+"\s*([^>]*)>', browser.last_html)
    in_app_box = re.search(rf'value="{categories[0]}:{channels[0]}" id="[^"]+"\s*([^>]*)>', browser.last_html)
    assert email_box and "checked" not in email_box.group(1)
    assert in_app_box and ("checked" in in_app_box.group(1) or channels[0] == "email")


async def test_admin_previews_a_template_on_sample_data(browser_client, register, client):
    admin = await register()
    created = await client.post(
        "/api/v1/notifications/templates",
        headers=admin["headers"],
        json={"name": "weekly_digest", "channel": "email", "subject": "Hi {{ user.name }}", "body": "{{ count }} runs"},
    )
    assert created.status_code == 201, await created.get_data(as_text=True)
    template_id = (await created.get_json())["id"]
    browser = browser_client()
    await browser.sign_in(admin["email"])
    await browser.get("/console/notifications/templates")
    assert f'href="/console/notifications/templates/{template_id}"' in browser.last_html

    preview = await browser.get(f"/console/notifications/templates/{template_id}?context=" + json.dumps({"count": 7}))
    assert preview.status_code == 200
    assert '<span id="preview-subject">Hi Ada</span>' in browser.last_html
    assert '<pre id="preview-body" tabindex="0">7 runs</pre>' in browser.last_html

    broken = await browser.get(f"/console/notifications/templates/{template_id}?context=[1]")
    assert broken.status_code == 422 and 'id="preview-error"' in browser.last_html


async def test_a_member_sees_preferences_but_not_templates(browser_client, register, client):
    admin = await register()
    added = await client.post(
        "/api/v1/users",
        headers=admin["headers"],
        json={"email": "member@example.com", "password": "a long passphrase", "role": "user"},
    )
    assert added.status_code == 201
    browser = browser_client()
    await browser.sign_in("member@example.com")
    assert (await browser.get("/console/notifications/preferences")).status_code == 200
    assert 'href="/console/notifications/templates"' not in browser.last_html
    assert (await browser.get("/console/notifications/templates")).status_code == 403
