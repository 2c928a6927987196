"""Usage counting: requests are counted in process memory and added to the database in batches.

A request costs one dict increment; every ``usage_flush_seconds`` (and at shutdown) the batch is
written with one upsert per (key, day, method, route, status) inside one transaction, so
several server processes add to the same rows safely. ``keys.usage_flushed`` follows each flush.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import defaultdict
from datetime import UTC, date, datetime

from tortoise import connections
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from vetrai.core.platform import Platform
from vetrai.plugins.keys.models import ApiKey

log = logging.getLogger("vetrai.keys")
UsageKey = tuple[uuid.UUID, uuid.UUID, date, str, str, int]
COLUMNS = ("api_key_id", "organization_id", "day", "method", "route", "status", "requests")


class UsageCounter:
    def __init__(self) -> None:
        self.counts: dict[UsageKey, int] = defaultdict(int)
        self.last_used: dict[uuid.UUID, datetime] = {}
        self._lock = asyncio.Lock()

    def add(self, key_id: uuid.UUID, organization_id: uuid.UUID, method: str, route: str, status: int) -> None:
        now = datetime.now(UTC)
        self.counts[(key_id, organization_id, now.date(), method, route[:200], status)] += 1
        self.last_used[key_id] = now

    def pending(self) -> int:
        return sum(self.counts.values())

    async def flush(self, platform: Platform) -> list[dict[str, object]]:
        """Write the pending batch; on failure it is kept and retried with the next one."""
        async with self._lock:
            counts, self.counts = self.counts, defaultdict(int)
            last_used, self.last_used = self.last_used, {}
            if not counts:
                return []
            try:
                await _write(counts, last_used)
            except BaseException:
                for name, value in counts.items():
                    self.counts[name] += value
                for key_id, when in last_used.items():
                    self.last_used[key_id] = max(when, self.last_used.get(key_id, when))
                raise
        summary = _summarize(counts)
        by_organization: dict[uuid.UUID, list[dict[str, object]]] = defaultdict(list)
        for item in summary:
            by_organization[item["organization_id"]].append(  # type: ignore[index]
                {**item, "key_id": str(item["key_id"]), "organization_id": str(item["organization_id"])}
            )
        for organization_id, items in by_organization.items():
            await platform.events.emit("keys.usage_flushed", {"counts": items}, organization_id=organization_id)
        return [entry for items in by_organization.values() for entry in items]


def _summarize(counts: dict[UsageKey, int]) -> list[dict[str, object]]:
    totals: dict[tuple[uuid.UUID, uuid.UUID], list[int]] = defaultdict(lambda: [0, 0])
    for (key_id, organization_id, _day, _method, _route, status), value in counts.items():
        total = totals[(key_id, organization_id)]
        total[0] += value
        if status >= 400:
            total[1] += value
    return [
        {"key_id": key_id, "organization_id": organization_id, "requests": requests, "errors": errors}
        for (key_id, organization_id), (requests, errors) in totals.items()
    ]


async def _write(counts: dict[UsageKey, int], last_used: dict[uuid.UUID, datetime]) -> None:
    connection = connections.get("default")
    postgres = connection.capabilities.dialect == "postgres"
    marks = [f"${index}" for index in range(1, len(COLUMNS) + 1)] if postgres else ["?"] * len(COLUMNS)
    sql = (
        f"INSERT INTO keys_api_key_usage ({', '.join(COLUMNS)}) VALUES ({', '.join(marks)}) "
        "ON CONFLICT (api_key_id, day, method, route, status) "
        "DO UPDATE SET requests = keys_api_key_usage.requests + excluded.requests"
    )
    rows = []
    for (key_id, organization_id, day, method, route, status), value in sorted(
        counts.items(), key=lambda item: str(item[0])
    ):
        if postgres:
            rows.append([key_id, organization_id, day, method, route, status, value])
        else:
            rows.append([str(key_id), str(organization_id), day.isoformat(), method, route, status, value])
    existing = set(await ApiKey.filter(id__in=list({row[0] for row in counts})).values_list("id", flat=True))
    rows = [row for row in rows if uuid.UUID(str(row[0])) in existing]
    async with in_transaction() as transaction:
        if rows:
            await transaction.execute_many(sql, rows)
        for key_id, when in last_used.items():
            if key_id in existing:
                await (
                    ApiKey.filter(Q(last_used_at=None) | Q(last_used_at__lt=when), id=key_id)
                    .using_db(transaction)
                    .update(last_used_at=when)
                )


async def flush_loop(platform: Platform, counter: UsageCounter, interval: float) -> None:
    while True:
        await asyncio.sleep(interval)
        try:
            await counter.flush(platform)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("flushing API key usage failed; the counts are kept for the next flush")
