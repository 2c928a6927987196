"""Keyset pagination over the tenant list index: every row once, in order, ties included."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from tortoise import connections

from vetrai.core.config import Settings
from vetrai.core.models import AuditLog, TenantMixin, tenant_list_index
from vetrai.core.pagination import PageQuery, paginate
from vetrai.core.plugins import builtin_plugin_names


@pytest.fixture
def settings(settings_factory) -> Settings:
    """Every built-in plugin, so every tenant table is migrated."""
    return settings_factory(plugins=builtin_plugin_names())


async def test_pages_walk_every_row_once_newest_first_even_when_times_tie(app):
    organization_id = uuid.uuid4()
    other_organization = uuid.uuid4()
    async with app.app.app_context():
        await AuditLog.bulk_create(
            [AuditLog(organization_id=organization_id, action=f"a{index}") for index in range(11)]
            + [AuditLog(organization_id=other_organization, action="other") for _ in range(3)]
        )
        tie = datetime(2026, 1, 1, tzinfo=UTC)
        # Seven rows share one timestamp: the cursor's id breaks the tie.
        tied = await AuditLog.filter(organization_id=organization_id).limit(7).values_list("id", flat=True)
        await AuditLog.filter(id__in=tied).update(created_at=tie)
        expected = [
            str(row.id) for row in await AuditLog.filter(organization_id=organization_id).order_by("-created_at", "-id")
        ]
        seen: list[str] = []
        cursor = None
        while True:
            page = await paginate(
                AuditLog.filter(organization_id=organization_id),
                PageQuery(limit=3, cursor=cursor),
                lambda row: str(row.id),
            )
            seen += page["items"]
            cursor = page["next_cursor"]
            if cursor is None:
                break
    assert seen == expected and len(seen) == 11


async def test_every_listed_tenant_table_has_the_list_index_in_the_database(app):
    """The migrations create (organization_id, created_at, id) on each table whose model asks
    for it, on the backend under test."""
    from tortoise import Tortoise

    expected: dict[str, str] = {}
    for models in Tortoise.apps.values():
        for model in models.values():
            for index in getattr(model._meta, "indexes", ()) or ():
                if getattr(index, "name", None) == tenant_list_index(model._meta.db_table).name:
                    expected[model._meta.db_table] = index.name
    assert "auth_user" in expected and "core_audit_log" in expected
    tenant_tables = {
        model._meta.db_table
        for models in Tortoise.apps.values()
        for model in models.values()
        if issubclass(model, TenantMixin)
    }
    one_per_organization = {"billing_customer", "support_sla_policy", "themes_theme"}
    assert tenant_tables - one_per_organization <= set(expected)
    async with app.app.app_context():
        connection = connections.get("default")
        for table, name in expected.items():
            if connection.capabilities.dialect == "sqlite":
                columns = [row["name"] for row in await connection.execute_query_dict(f"PRAGMA index_info('{name}')")]
            else:
                rows = await connection.execute_query_dict(
                    "SELECT a.attname AS name FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                    "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
                    "WHERE c.relname = $1 ORDER BY array_position(i.indkey, a.attnum)",
                    [name],
                )
                columns = [row["name"] for row in rows]
            assert columns == ["organization_id", "created_at", "id"], (table, columns)
