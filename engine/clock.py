"""Time from the database: leases compare times written by many processes, so they all use the
database's clock rather than their own."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

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
    value = rows[0]["now"]
    return value.astimezone(UTC)


def jsonable(value: Any) -> Any:
    """Plain JSON (LangChain messages and other objects become their dict or text form)."""
    return json.loads(json.dumps(value, default=_default))


def _default(value: Any) -> Any:
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if hasattr(value, "_asdict"):
        return value._asdict()
    return str(value)
