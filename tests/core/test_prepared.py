"""A hot query's SQL built once, then bound to new values: the same rows as the queryset."""

from __future__ import annotations

import uuid

import pytest
from tortoise.expressions import RawSQL
from tortoise.transactions import in_transaction

from vetrai.core.models import Organization
from vetrai.core.prepared import PreparedSelect


def named(name: str, organization_id: uuid.UUID):
    return Organization.filter(name=name).exclude(id=organization_id).annotate(twice=RawSQL("2 * 21"))


PREPARED = PreparedSelect(named, name="sample name", organization_id=uuid.UUID(int=7))


async def test_a_prepared_select_binds_each_call_s_values(platform):
    suffix = uuid.uuid4().hex[:8]
    first = await Organization.create(name=f"Prepared {suffix}", slug=f"prepared-a-{suffix}")
    second = await Organization.create(name=f"Prepared {suffix}", slug=f"prepared-b-{suffix}")
    other = await Organization.create(name=f"Other {suffix}", slug=f"other-{suffix}")
    rows = await PREPARED.fetch(Organization, name=f"Prepared {suffix}", organization_id=first.id)
    assert [row.id for row in rows] == [second.id]
    assert int(rows[0].twice) == 42 and rows[0].slug == second.slug  # type: ignore[attr-defined]
    again = await PREPARED.fetch(Organization, name=f"Other {suffix}", organization_id=first.id)
    assert [row.id for row in again] == [other.id]
    expected = [row.id for row in await named(f"Prepared {suffix}", second.id)]
    prepared = await PREPARED.fetch(Organization, name=f"Prepared {suffix}", organization_id=second.id)
    assert [row.id for row in prepared] == expected == [first.id]


async def test_a_prepared_select_reads_inside_the_current_transaction(platform):
    suffix = uuid.uuid4().hex[:8]
    async with in_transaction():
        created = await Organization.create(name=f"Uncommitted {suffix}", slug=f"uncommitted-{suffix}")
        rows = await PREPARED.fetch(Organization, name=f"Uncommitted {suffix}", organization_id=uuid.uuid4())
        assert [row.id for row in rows] == [created.id]


async def test_a_sample_the_query_does_not_bind_is_refused(platform):
    unbound = PreparedSelect(lambda name: Organization.filter(name="constant"), name="sample name")
    with pytest.raises(ValueError, match="name"):
        await unbound.fetch(Organization, name="anything")
