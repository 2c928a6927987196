"""The transactional outbox: exists iff committed, delivered at least once, retried, taken over, failed."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import uuid
from collections import deque
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from tortoise.transactions import in_transaction

from vetrai.core import outbox
from vetrai.core.conformance import in_process_worker
from vetrai.core.errors import PluginError
from vetrai.core.hooks import (
    Backoff,
    DeliveryError,
    OutboxHandler,
    PluginInfo,
    TemporaryDeliveryError,
    hookimpl,
)
from vetrai.core.models import Organization, OutboxMessage
from vetrai.core.plugins import load_plugins

KIND = "outboxcheck.act"


class OutboxPlugin:
    """A plugin with one outbox kind; ``script`` holds what the next attempts raise."""

    def __init__(self, name: str = "outboxcheck", kind: str = KIND) -> None:
        self.name = name
        self.kind = kind
        self.seen: list[tuple[str, int, dict[str, Any]]] = []
        self.script: deque[BaseException] = deque()

    @hookimpl
    def vetrai_plugin_info(self) -> PluginInfo:
        return PluginInfo(name=self.name, version="0.0.1")

    @hookimpl
    def vetrai_outbox_handlers(self) -> list[OutboxHandler]:
        return [OutboxHandler(self.kind, self.handle, max_attempts=3, backoff=Backoff(0.01, 0.05), lease_seconds=30)]

    async def handle(self, message: OutboxMessage) -> None:
        self.seen.append((message.key, message.attempts, dict(message.payload)))
        if self.script:
            raise self.script.popleft()


async def eventually(check: Callable[[], Any], timeout: float = 15.0) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = check()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return result
        assert asyncio.get_running_loop().time() < deadline, "timed out waiting"
        await asyncio.sleep(0.02)


async def settled(message_id: uuid.UUID) -> OutboxMessage:
    return await eventually(
        lambda: OutboxMessage.get_or_none(id=message_id, status__in=[outbox.DELIVERED, outbox.FAILED])
    )


@pytest.fixture
def plugin() -> OutboxPlugin:
    return OutboxPlugin()


@pytest.fixture
async def platform(settings_factory, plugin) -> AsyncIterator[Any]:
    """Only the core and the test plugin; on the Redis broker a worker runs beside the server."""
    from vetrai.core.app import create_app

    app = create_app(settings_factory(plugins=[]), extra_plugins=[plugin])
    async with app.test_app() as test_app:
        platform = test_app.app.extensions["vetrai"]
        worker = contextlib.nullcontext() if platform.runs_tasks else in_process_worker(platform)
        async with worker, test_app.app.app_context():
            yield platform


async def new_organization() -> Organization:
    return await Organization.create(name="Outbox", slug=f"outbox-{uuid.uuid4().hex[:8]}")


async def test_vetrai_outbox_handlers_deliver_a_committed_message_once(platform, plugin):
    async with outbox.transaction() as conn:
        organization = await Organization.create(name="Acme", slug=f"acme-{uuid.uuid4().hex[:8]}", using_db=conn)
        first = await outbox.enqueue(KIND, {"n": 1}, key="order-1", organization_id=organization.id, using_db=conn)
        again = await outbox.enqueue(KIND, {"n": 2}, key="order-1", organization_id=organization.id, using_db=conn)
    assert again == first
    row = await settled(first)
    assert row.status == "delivered" and row.attempts == 1 and row.delivered_at is not None
    assert row.organization_id == organization.id and row.claimed_by is None
    assert plugin.seen == [("order-1", 1, {"n": 1})]
    assert await OutboxMessage.filter(kind=KIND, key="order-1").count() == 1


async def test_a_message_enqueued_outside_a_transaction_is_delivered_at_once(platform, plugin):
    message_id = await outbox.enqueue(KIND, {"n": 3})
    assert (await settled(message_id)).status == "delivered"
    assert [payload for _key, _attempts, payload in plugin.seen] == [{"n": 3}]


async def test_a_rolled_back_transaction_leaves_no_message(platform, plugin):
    with pytest.raises(RuntimeError):
        async with outbox.transaction() as conn:
            await Organization.create(name="Gone", slug=f"gone-{uuid.uuid4().hex[:8]}", using_db=conn)
            await outbox.enqueue(KIND, {}, key="rolled-back", using_db=conn)
            raise RuntimeError("the state change failed")
    with pytest.raises(RuntimeError):
        async with in_transaction() as conn:
            await outbox.enqueue(KIND, {}, key="rolled-back-plain", using_db=conn)
            raise RuntimeError("the state change failed")
    assert not await OutboxMessage.filter(key__in=["rolled-back", "rolled-back-plain"]).exists()
    assert not await Organization.filter(name="Gone").exists()
    assert await outbox.sweep(platform) == 0
    assert plugin.seen == []


async def test_a_plain_transaction_is_delivered_by_the_sweep(platform, plugin):
    async with in_transaction() as conn:
        message_id = await outbox.enqueue(KIND, {"n": 4}, key="plain", using_db=conn)
    await OutboxMessage.filter(id=message_id).update(next_attempt_at=datetime.now(UTC) - timedelta(minutes=1))
    await outbox.sweep(platform)
    assert (await settled(message_id)).status == "delivered"
    assert plugin.seen == [("plain", 1, {"n": 4})]


async def test_a_crash_between_claim_and_delivery_is_redelivered_after_the_lease(platform, plugin):
    message_id = await outbox.enqueue(KIND, {"n": 5}, key="crash", kick=False)
    handler = platform.plugins.outbox_handlers[KIND]
    dead = await outbox.claim(message_id, handler)  # the worker claims, then dies before the handler ran
    assert dead is not None and dead.attempts == 1 and dead.status == "claimed"
    assert await outbox.claim(message_id, handler) is None  # the lease keeps everyone else out
    assert await outbox.sweep(platform) == 0

    # The lease runs out (moved into the past rather than waited for).
    await OutboxMessage.filter(id=message_id).update(lease_until=datetime.now(UTC) - timedelta(seconds=1))
    await outbox.sweep(platform)
    row = await settled(message_id)
    assert row.status == "delivered" and row.attempts == 2
    assert plugin.seen == [("crash", 2, {"n": 5})]
    # The dead worker coming back cannot overwrite what its successor recorded.
    assert await outbox._settle(dead, status="failed", last_error="late") is False
    assert (await OutboxMessage.get(id=message_id)).status == "delivered"


async def test_temporary_and_unexpected_failures_retry_with_backoff(platform, plugin, caplog):
    plugin.script.extend([TemporaryDeliveryError("busy"), ValueError("a bug in the handler")])
    with caplog.at_level(logging.WARNING, logger="vetrai.outbox"):
        message_id = await outbox.enqueue(KIND, {}, key="flaky")
        row = await settled(message_id)
    assert row.status == "delivered" and row.attempts == 3 and row.last_error is None
    assert [attempts for _key, attempts, _payload in plugin.seen] == [1, 2, 3]
    unexpected = [record for record in caplog.records if "raised on message" in record.getMessage()]
    assert unexpected and unexpected[0].exc_info is not None and unexpected[0].exc_info[0] is ValueError


async def test_a_permanent_failure_fails_at_once_and_retry_starts_it_over(platform, plugin):
    plugin.script.append(DeliveryError("the address was refused"))
    message_id = await outbox.enqueue(KIND, {}, key="refused")
    row = await settled(message_id)
    assert row.status == "failed" and row.attempts == 1 and row.last_error == "the address was refused"

    assert await outbox.retry(KIND, "refused") is True
    row = await settled(message_id)
    assert row.status == "delivered" and row.attempts == 1
    assert await outbox.retry(KIND, "refused") is False


async def test_it_gives_up_after_max_attempts(platform, plugin):
    plugin.script.extend([TemporaryDeliveryError("down")] * 3)
    message_id = await outbox.enqueue(KIND, {}, key="down")
    row = await settled(message_id)
    assert row.status == "failed" and row.attempts == 3
    assert row.last_error == "gave up after 3 attempts: down"


async def test_a_message_that_keeps_killing_its_worker_fails_after_its_attempts(platform, plugin):
    message_id = await outbox.enqueue(KIND, {}, key="poison", kick=False)
    await OutboxMessage.filter(id=message_id).update(
        status="claimed", attempts=3, lease_until=datetime.now(UTC) - timedelta(seconds=1)
    )
    await outbox.sweep(platform)
    row = await settled(message_id)
    assert row.status == "failed" and "worker was lost" in row.last_error
    assert plugin.seen == []


async def test_a_delayed_message_waits_until_due(platform, plugin):
    message_id = await outbox.enqueue(KIND, {}, key="later", delay=3600)
    assert await outbox.sweep(platform) == 0
    assert (await OutboxMessage.get(id=message_id)).status == "pending"
    await OutboxMessage.filter(id=message_id).update(next_attempt_at=datetime.now(UTC) - timedelta(minutes=1))
    await outbox.sweep(platform)
    assert (await settled(message_id)).status == "delivered"


async def test_an_unknown_kind_is_refused(platform):
    with pytest.raises(ValueError, match="no outbox handler"):
        await outbox.enqueue("nobody.handles", {})


def test_a_duplicate_outbox_kind_is_a_plugin_error_naming_the_plugin(settings_factory):
    settings = settings_factory(plugins=[])
    with pytest.raises(PluginError, match="outbox kind 'outboxcheck.act' is already handled by 'outboxcheck'") as info:
        load_plugins(settings, [OutboxPlugin("outboxcheck"), OutboxPlugin("second")])
    assert "second" in str(info.value)


async def test_the_outbox_backlog_and_deliveries_are_metrics(platform, plugin):
    delivered = await outbox.enqueue(KIND, {}, key="counted")
    await settled(delivered)
    await outbox.enqueue(KIND, {}, key="waiting", delay=3600)
    text = (await platform.metrics.render()).decode()
    assert f'vetrai_outbox_deliveries_total{{kind="{KIND}",outcome="delivered"}} 1.0' in text
    assert f'vetrai_outbox_backlog{{kind="{KIND}",status="pending"}} 1.0' in text
    assert "vetrai_outbox_oldest_pending_age_seconds" in text


async def test_an_outbox_transaction_inside_a_plain_one_kicks_nothing_before_the_commit(platform, plugin):
    async with in_transaction():
        async with outbox.transaction() as conn:
            message_id = await outbox.enqueue(KIND, {"n": 6}, key="nested", using_db=conn)
        assert plugin.seen == []
    row = await OutboxMessage.get(id=message_id)
    assert row.status == "pending" and row.attempts == 0
    await OutboxMessage.filter(id=message_id).update(next_attempt_at=datetime.now(UTC) - timedelta(minutes=1))
    await outbox.sweep(platform)
    assert (await settled(message_id)).status == "delivered"


async def test_a_delivery_cancelled_by_shutdown_hands_the_message_back_at_once(platform, plugin):
    started = asyncio.Event()
    release = asyncio.Event()

    async def slow(message: OutboxMessage) -> None:
        started.set()
        await release.wait()

    platform.plugins.outbox_handlers[KIND] = OutboxHandler(KIND, slow, max_attempts=3, lease_seconds=300)
    message_id = await outbox.enqueue(KIND, {}, key="cancelled", kick=False)
    task = asyncio.create_task(outbox.deliver_once(platform, message_id))
    await asyncio.wait_for(started.wait(), 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    row = await OutboxMessage.get(id=message_id)
    release.set()
    assert row.status == "pending" and row.attempts == 1 and row.claimed_by is None


@pytest.fixture
def second_plugin() -> OutboxPlugin:
    return OutboxPlugin("outboxcheck2", "outboxcheck.other")


@pytest.fixture
async def two_kinds(settings_factory, plugin, second_plugin) -> AsyncIterator[Any]:
    from vetrai.core.app import create_app

    app = create_app(settings_factory(plugins=[]), extra_plugins=[plugin, second_plugin])
    async with app.test_app() as test_app:
        platform = test_app.app.extensions["vetrai"]
        worker = contextlib.nullcontext() if platform.runs_tasks else in_process_worker(platform)
        async with worker, test_app.app.app_context():
            yield platform


async def test_the_messages_of_one_transaction_are_delivered_together_and_a_failure_alone_retries(
    two_kinds, plugin, second_plugin
):
    plugin.script.append(TemporaryDeliveryError("busy"))
    async with outbox.transaction() as conn:
        ids = [
            await outbox.enqueue(KIND, {"n": 1}, key="batch-1", using_db=conn),
            await outbox.enqueue(KIND, {"n": 2}, key="batch-2", using_db=conn),
            await outbox.enqueue("outboxcheck.other", {"n": 3}, key="batch-3", using_db=conn),
        ]
    rows = [await settled(message_id) for message_id in ids]
    assert [row.status for row in rows] == ["delivered"] * 3
    assert sorted(row.attempts for row in rows) == [1, 1, 2]  # the one that failed went again
    assert second_plugin.seen == [("batch-3", 1, {"n": 3})]
    latest: dict[str, int] = {}
    for key, attempts, _payload in plugin.seen:
        latest[key] = max(latest.get(key, 0), attempts)
    assert len(plugin.seen) == 3 and sorted(latest.values()) == [1, 2]


async def test_a_delivery_task_naming_one_message_as_before_batching_still_delivers_it(platform, plugin):
    async with in_transaction() as conn:  # a plain transaction kicks nothing: only the task delivers it
        message_id = await outbox.enqueue(KIND, {"n": 5}, key="one-id", using_db=conn)
    await outbox.deliver(str(message_id))
    assert (await settled(message_id)).status == "delivered"
    assert plugin.seen == [("one-id", 1, {"n": 5})]
