"""Data lifecycle: deleting an organization leaves no row and no file of it; retention deletes old data.

Every built-in plugin writes data for two organizations through its API (users, an API key,
a ticket with an attachment, a theme logo, a notification, billing rows); deleting one must
leave nothing of it in any table (every model with an organization or a user of it is
checked) or in storage (the filesystem and S3 through the moto server), and the other intact.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from tortoise import Tortoise

from tests.support.conftest import s3_endpoint, s3_storage_url  # noqa: F401 - the session's moto server
from tests.support.test_support_attachments import PNG, multipart
from tests.themes.conftest import png
from vetrai.core.models import AuditLog, Organization, OutboxMessage
from vetrai.core.organizations.purge import purge_expired

PLUGINS = ["auth", "keys", "billing", "support", "themes", "notifications"]


@pytest.fixture(params=["filesystem", "s3"])
def storage_kind(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def settings(settings_factory, storage_kind, request):
    if storage_kind == "s3":
        endpoint = request.getfixturevalue("s3_endpoint")
        return settings_factory(plugins=PLUGINS, storage_url=s3_storage_url(endpoint))
    return settings_factory(plugins=PLUGINS)


async def stored_keys(platform: Any, organization_id: Any) -> list[str]:
    storage = platform.storage
    if hasattr(storage, "root"):
        folder = Path(storage.root) / "org" / str(organization_id)
        return sorted(str(path) for path in folder.rglob("*") if path.is_file())
    s3 = await storage._s3()
    listing = await s3.list_objects_v2(Bucket=storage.bucket, Prefix=storage._key(f"org/{organization_id}/"))
    return sorted(item["Key"] for item in listing.get("Contents", []))


async def populate(client: Any, platform: Any, make_user: Any) -> dict[str, Any]:
    """An organization with data in every plugin, made through the API where there is one."""
    admin = await make_user("org_admin")
    member = await make_user("user", admin.organization)
    key = await client.post("/api/v1/keys", json={"name": "ci", "scopes": []}, headers=admin.headers)
    assert key.status_code == 201, await key.get_data(as_text=True)
    ticket = await client.post(
        "/api/v1/support/tickets",
        json={"subject": "Printer", "description": "On fire", "priority": "high"},
        headers=member.headers,
    )
    assert ticket.status_code == 201, await ticket.get_data(as_text=True)
    body, headers = multipart(PNG, filename="shot.png")
    attachment = await client.post(
        f"/api/v1/support/tickets/{(await ticket.get_json())['id']}/attachments",
        data=body,
        headers={**member.headers, **headers},
    )
    assert attachment.status_code == 201, await attachment.get_data(as_text=True)
    body, headers = multipart(png(), filename="logo.png", content_type="image/png")
    logo = await client.post("/api/v1/themes/assets/logo", data=body, headers={**admin.headers, **headers})
    assert logo.status_code == 200, await logo.get_data(as_text=True)
    sent = await client.post(
        "/api/v1/notifications",
        json={"channel": "in_app", "recipient_id": member.id, "body": "Hello"},
        headers=admin.headers,
    )
    assert sent.status_code == 202, await sent.get_data(as_text=True)
    from vetrai.plugins.billing.models import BillingCustomer, BillingUsage

    organization_id = admin.organization.id
    await BillingCustomer.create(organization_id=organization_id, stripe_customer_id=f"cus_{uuid.uuid4().hex[:12]}")
    await BillingUsage.create(organization_id=organization_id, period="2026-11", metric="jobs", quantity=3)
    # A file no row names (an upload interrupted before its row was written) goes too.
    await platform.storage.put(f"org/{organization_id}/support/orphan", _chunks(b"left behind"), "text/plain")
    return {"admin": admin, "member": member, "users": [admin.user.id, member.user.id]}


async def _chunks(data: bytes) -> Any:
    yield data


async def rows_of(organization_id: Any, user_ids: list[Any]) -> dict[str, int]:
    """Rows pointing at the organization or at one of its users, per table (non-zero only)."""
    found: dict[str, int] = {}
    for app_label, models in Tortoise.apps.items():
        for model in models.values():
            columns = set(model._meta.fields_db_projection.values())
            counts = 0
            if "organization_id" in columns:
                counts += await model.filter(organization_id=organization_id).count()
            for column in ("user_id", "requester_id", "created_by_id"):
                if column in columns:
                    counts += await model.filter(**{f"{column}__in": user_ids}).count()
            if counts:
                found[f"{app_label}.{model._meta.db_table}"] = counts
    found_org = await Organization.filter(id=organization_id).count()
    if found_org:
        found["core.core_organization"] = found_org
    return found


async def test_vetrai_purge_organization_erases_every_row_and_file_of_it(client, platform, make_user):
    doomed = await populate(client, platform, make_user)
    kept = await populate(client, platform, make_user)
    doomed_id = doomed["admin"].organization.id
    kept_id = kept["admin"].organization.id
    assert len(await stored_keys(platform, doomed_id)) == 3
    before = await rows_of(doomed_id, doomed["users"])
    for table in ("auth.auth_user", "keys.keys_api_key", "support.support_ticket", "support.support_attachment"):
        assert before.get(table), (table, before)
    assert before.get("themes.themes_theme") and before.get("notifications.notifications_notification")
    assert before.get("billing.billing_customer") and before.get("core.core_audit_log")

    url = f"/api/v1/organizations/{doomed_id}"
    admin = doomed["admin"]
    assert (await client.delete(url, headers=admin.headers)).status_code == 403
    wrong = await client.delete(url, headers=admin.headers, query_string={"confirm": "not-the-slug"})
    assert wrong.status_code == 403 and "confirm" in (await wrong.get_json())["detail"]
    assert (await client.delete(url, headers=doomed["member"].headers)).status_code == 403
    other = await client.delete(
        f"/api/v1/organizations/{kept_id}",
        headers=admin.headers,
        query_string={"confirm": kept["admin"].organization.slug},
    )
    assert other.status_code == 404

    deleted = await client.delete(url, headers=admin.headers, query_string={"confirm": admin.organization.slug})
    assert deleted.status_code == 204
    assert await rows_of(doomed_id, doomed["users"]) == {}
    assert await stored_keys(platform, doomed_id) == []
    assert not await OutboxMessage.filter(organization_id=doomed_id).exists()
    assert (await client.get("/api/v1/me", headers=admin.headers)).status_code == 401

    # The other organization is untouched.
    assert (await client.get("/api/v1/me", headers=kept["admin"].headers)).status_code == 200
    assert len(await stored_keys(platform, kept_id)) == 3
    remaining = await rows_of(kept_id, kept["users"])
    assert remaining.get("support.support_attachment") and remaining.get("keys.keys_api_key")
    purge_message = await OutboxMessage.get(kind="core.purge_organization", key=str(doomed_id))
    assert purge_message.status == "delivered"


async def test_a_super_admin_erases_an_organization_without_confirming(client, platform, make_user):
    root = await make_user("super_admin")
    doomed = await populate(client, platform, make_user)
    doomed_id = doomed["admin"].organization.id
    assert (await client.delete(f"/api/v1/organizations/{doomed_id}", headers=root.headers)).status_code == 204
    assert await rows_of(doomed_id, doomed["users"]) == {}
    assert await stored_keys(platform, doomed_id) == []
    # The super_admin's own audit trail keeps the deletion.
    assert await AuditLog.filter(action="organization.deleted", target_id=str(doomed_id)).exists()
    assert (await client.get(f"/api/v1/organizations/{doomed_id}", headers=root.headers)).status_code == 404


@pytest.mark.parametrize("storage_kind", ["filesystem"], indirect=False)
async def test_vetrai_purge_expired_deletes_finished_notifications_past_the_plans_retention(
    client, platform, make_user, make_org
):
    from vetrai.plugins.notifications.models import Notification

    short = await make_org(limits={"retention_days": 30})
    forever = await make_org(limits={"retention_days": 0})
    old = datetime.now(UTC) - timedelta(days=45)
    rows = {}
    for name, organization, status, created in [
        ("old_sent", short, "sent", old),
        ("old_failed", short, "failed", old),
        ("old_queued", short, "queued", old),
        ("recent_sent", short, "sent", datetime.now(UTC)),
        ("forever_sent", forever, "sent", old),
    ]:
        row = await Notification.create(
            organization_id=organization.id, channel="webhook", to="https://example.com/hook", body="b", status=status
        )
        await Notification.filter(id=row.id).update(created_at=created)
        rows[name] = row.id
    done_long_ago = await OutboxMessage.create(
        kind="notifications.deliver", key="long-ago", status="delivered", next_attempt_at=old, delivered_at=old
    )
    done_recently = await OutboxMessage.create(
        kind="notifications.deliver",
        key="recent",
        status="delivered",
        next_attempt_at=old,
        delivered_at=datetime.now(UTC),
    )
    assert await purge_expired(platform) >= 3
    left = {name for name, row_id in rows.items() if await Notification.exists(id=row_id)}
    assert left == {"old_queued", "recent_sent", "forever_sent"}
    assert not await OutboxMessage.exists(id=done_long_ago.id)
    assert await OutboxMessage.exists(id=done_recently.id)
