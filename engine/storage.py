"""The engine's part of an organization's ``max_storage_bytes``: what its runs keep (inputs,
outputs, events, their threads' checkpoints) and its store items."""

from __future__ import annotations

import time
import uuid
from typing import TYPE_CHECKING

from vetrai.core.platform import Slot
from vetrai.engine.models import Job
from vetrai.engine.process import RUNTIME
from vetrai.engine.settings import WorkersSettings

if TYPE_CHECKING:
    from vetrai.core.platform import Platform


async def _json_bytes(table: str, columns: tuple[str, ...], organization_id: uuid.UUID) -> int:
    """Bytes of JSON columns of an organization's rows, summed by the database."""
    from tortoise import Tortoise

    connection = Tortoise.get_connection("default")
    sqlite = connection.capabilities.dialect == "sqlite"
    size = "length(CAST({} AS BLOB))" if sqlite else "pg_column_size({})"
    total = " + ".join(f"COALESCE({size.format(column)}, 0)" for column in columns)
    _, rows = await connection.execute_query(
        f"SELECT COALESCE(SUM({total}), 0) AS total FROM {table} WHERE organization_id = {'?' if sqlite else '$1'}",
        [str(organization_id) if sqlite else organization_id],
    )
    row = rows[0] if rows else None
    return int((row["total"] if row is not None else 0) or 0)


class StorageMeasures:
    """The engine's part of each organization's storage, measured at most every
    ``storage_check_seconds`` in a process: a measure reads the sizes of all the organization's
    checkpoints, too much to repeat for every new run. A run ending or deleted here forgets it."""

    def __init__(self) -> None:
        self.until: dict[uuid.UUID, tuple[float, int]] = {}


STORAGE: Slot[StorageMeasures] = Slot("workers_storage")


def forget_storage(platform: Platform, organization_id: uuid.UUID) -> None:
    """The organization's runs changed what they store: the next check measures again."""
    measures = platform.find(STORAGE)
    if measures is not None:
        measures.until.pop(organization_id, None)


async def storage_used(platform: Platform, organization_id: uuid.UUID) -> int:
    """Bytes the organization's runs and store items keep, as last measured in this process."""
    measures = platform.find(STORAGE) or platform.fill(STORAGE, StorageMeasures())
    now = time.monotonic()
    until, used = measures.until.get(organization_id, (0.0, 0))
    if until > now:
        return used
    used = await _measure_storage(platform, organization_id)
    seconds = platform.plugin_settings("workers", WorkersSettings).storage_check_seconds
    measures.until[organization_id] = (now + seconds, used)
    return used


async def _measure_storage(platform: Platform, organization_id: uuid.UUID) -> int:
    from tortoise.functions import Sum

    from vetrai.engine import checkpoints
    from vetrai.engine.models import StoreItem

    events = (
        await Job.filter(organization_id=organization_id).annotate(total=Sum("event_bytes")).first().values("total")
    )
    threads = {
        str(key) for key in await Job.filter(organization_id=organization_id).values_list("thread_id", flat=True) if key
    }
    runtime = platform.get(RUNTIME)
    await runtime.ensure_ready()
    saved = await checkpoints.checkpoint_bytes(runtime.checkpointer, sorted(threads))
    rows = await _json_bytes(Job._meta.db_table, ("input", "output"), organization_id)
    items = await _json_bytes(StoreItem._meta.db_table, ("value",), organization_id)
    return int((events or {}).get("total") or 0) + saved + rows + items
