"""Time from the database: leases compare times written by many processes, so they all use the
database's clock rather than their own."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic_core import to_jsonable_python
from tortoise import Tortoise


def utcnow() -> datetime:
    return datetime.now(UTC)


async def db_now() -> datetime:
    """The database server's current UTC time (PostgreSQL ``now()``, SQLite ``'now'``)."""
    connection = Tortoise.get_connection("default")
    if connection.capabilities.dialect == "sqlite":
        _, rows = await connection.execute_query("SELECT strftime('%Y-%m-%d %H:%M:%f', 'now') AS now")
        value = rows[0]["now"] if isinstance(rows[0], dict) else rows[0][0]
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    _, rows = await connection.execute_query("SELECT now() AS now")
    moment: datetime = rows[0]["now"]
    return moment.astimezone(UTC)


def jsonable(value: Any) -> Any:
    """Plain JSON (LangChain messages and other models become their JSON form, the rest text)."""
    return to_jsonable_python(value, fallback=str)
