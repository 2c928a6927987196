"""LangGraph checkpointers: AsyncSqliteSaver beside the SQLite database, AsyncPostgresSaver on its
own psycopg pool; pruning a finished thread down to its latest checkpoint; their size."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

ADVISORY_LOCK = 0x766574726169  # "vetrai": serializes checkpointer setup across processes
TRY_LOCK = "SELECT pg_try_advisory_lock(%s) AS locked"
SETUP_POLL_SECONDS = 0.05
SQLITE_SETUP_SECONDS = 30.0


async def open_checkpointer(database_url: str, pool_size: int) -> tuple[Any, Callable[[], Awaitable[None]]]:
    """The saver for this database and the coroutine function that closes it."""
    if database_url.startswith("sqlite"):
        import aiosqlite
        from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

        path = database_url.removeprefix("sqlite://").split("?", 1)[0]
        target = ":memory:" if ":memory:" in path else f"{path}.checkpoints"
        # Autocommit: the saver's INSERT and COMMIT are two awaits, and a run cancelled between
        # them (a cancel, a lost lease, a drain) left an open write transaction that locked
        # every other connection to the file out ("database is locked").
        conn = await aiosqlite.connect(target, isolation_level=None)
        saver: Any = AsyncSqliteSaver(conn)
        try:
            await _sqlite_setup(conn, saver)
        except BaseException:
            await conn.close()
            raise
        return saver, conn.close
    from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
    from psycopg.rows import dict_row
    from psycopg_pool import AsyncConnectionPool

    pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
        database_url,
        min_size=1,
        max_size=max(2, pool_size),
        kwargs={"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row},
        # A connection is checked when lent: after PostgreSQL restarts, each pooled connection
        # would otherwise fail its next request once (500s seconds after the database is back).
        check=AsyncConnectionPool.check_connection,
        open=False,
    )
    await pool.open(wait=True)
    saver = AsyncPostgresSaver(pool)
    async with pool.connection() as conn:
        # Polled, not pg_advisory_lock: a session blocked inside that statement holds a
        # snapshot, and the setup holding the lock builds indexes CONCURRENTLY, which waits for
        # every older snapshot; the two processes would wait for each other forever.
        while not (await (await conn.execute(TRY_LOCK, (ADVISORY_LOCK,))).fetchone() or {}).get("locked"):
            await asyncio.sleep(SETUP_POLL_SECONDS)
        try:
            await saver.setup()
        finally:
            await conn.execute("SELECT pg_advisory_unlock(%s)", (ADVISORY_LOCK,))
    return saver, pool.close


async def _sqlite_setup(conn: Any, saver: Any) -> None:
    """WAL and the saver's tables. Another process setting up the same new file at the same
    moment makes SQLite refuse at once ("database is locked", its busy timeout does not cover
    a journal mode change), so the setup is tried again until the other one is done."""
    import sqlite3

    deadline = asyncio.get_running_loop().time() + SQLITE_SETUP_SECONDS
    while True:
        try:
            await conn.execute("PRAGMA journal_mode=WAL")
            await saver.setup()
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(SETUP_POLL_SECONDS)


async def prune_thread(saver: Any, thread_id: str) -> int:
    """Keep only the latest checkpoint of a thread whose run ended (its state and history
    stay readable as one step); returns how many were removed. Two DELETEs: the latest is the
    greatest checkpoint id of the root namespace (LangGraph's ids sort by time), so nothing is
    read and deserialized first."""
    if hasattr(saver, "conn") and not hasattr(saver.conn, "connection"):  # aiosqlite
        removed: list[int] = []
        for table in ("writes", "checkpoints"):  # the writes first: they are found by the checkpoints
            cursor = await saver.conn.execute(
                f"DELETE FROM {table} WHERE thread_id = ? AND checkpoint_ns = '' AND checkpoint_id <"
                " (SELECT MAX(checkpoint_id) FROM checkpoints WHERE thread_id = ? AND checkpoint_ns = '')",
                (thread_id, thread_id),
            )
            removed.append(cursor.rowcount)
        return max(removed[-1], 0)
    removed = []
    async with saver.conn.connection() as conn:
        for table in ("checkpoint_writes", "checkpoints"):
            cursor = await conn.execute(
                f"DELETE FROM {table} WHERE thread_id = %(thread)s AND checkpoint_ns = '' AND checkpoint_id <"
                " (SELECT MAX(checkpoint_id) FROM checkpoints WHERE thread_id = %(thread)s AND checkpoint_ns = '')",
                {"thread": thread_id},
            )
            removed.append(cursor.rowcount)
    return max(removed[-1], 0)


async def checkpoint_bytes(saver: Any, thread_ids: list[str]) -> int:
    """Bytes of the stored checkpoints and pending writes of these threads."""
    if not thread_ids:
        return 0
    if hasattr(saver, "conn") and not hasattr(saver.conn, "connection"):
        marks = ", ".join("?" for _ in thread_ids)
        total = 0
        for table, columns in (("checkpoints", "length(checkpoint) + length(metadata)"), ("writes", "length(value)")):
            async with saver.conn.execute(
                f"SELECT COALESCE(SUM({columns}), 0) FROM {table} WHERE thread_id IN ({marks})", tuple(thread_ids)
            ) as cursor:
                row = await cursor.fetchone()
                total += int(row[0] or 0)
        return total
    async with saver.conn.connection() as conn:
        cursor = await conn.execute(
            "SELECT (SELECT COALESCE(SUM(pg_column_size(checkpoint) + pg_column_size(metadata)), 0)"
            " FROM checkpoints WHERE thread_id = ANY(%(ids)s))"
            " + (SELECT COALESCE(SUM(length(blob)), 0) FROM checkpoint_blobs WHERE thread_id = ANY(%(ids)s))"
            " + (SELECT COALESCE(SUM(length(blob)), 0) FROM checkpoint_writes WHERE thread_id = ANY(%(ids)s))"
            " AS total",
            {"ids": thread_ids},
        )
        row = await cursor.fetchone()
        return int(row["total"] or 0)


async def delete_thread(saver: Any, thread_id: str) -> None:
    await saver.adelete_thread(thread_id)
