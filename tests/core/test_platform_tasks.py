"""Background tasks the platform starts run in its start-up context, not their caller's."""

from __future__ import annotations

import asyncio

from tortoise import connections
from tortoise.transactions import in_transaction


async def test_a_task_started_inside_a_transaction_does_not_use_its_connection(platform):
    seen: asyncio.Queue = asyncio.Queue()

    async def probe() -> None:
        await seen.put(connections.get("default"))

    async with in_transaction() as transaction:
        assert connections.get("default") is transaction
        platform.spawn(probe())
        spawned = await seen.get()
        platform.detach(probe())
        detached = await seen.get()
    # Inherited, the transaction's connection would go back to the pool at the end of the
    # block while the background task kept sending queries on it.
    assert spawned is not transaction and detached is not transaction
    assert spawned is connections.get("default")


async def test_stop_lets_the_work_a_process_took_on_finish(settings_factory):
    from vetrai.core.app import create_app

    app = create_app(settings_factory(plugins=[]))
    finished = asyncio.Event()

    async def delivery() -> None:
        await asyncio.sleep(0.2)
        finished.set()

    async with app.test_app() as test_app:
        test_app.app.extensions["vetrai"].run_soon(delivery())
        assert not finished.is_set()
    assert finished.is_set()
