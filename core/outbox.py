"""The transactional outbox: actions that happen if and only if a state change committed.

A plugin that changes state and must then act (send a notification, call a webhook, report
usage) writes an outbox message in the same database transaction as the change::

    async with outbox.transaction() as conn:
        row = await Ticket.create(..., using_db=conn)
        await outbox.enqueue("support.notify", {"ticket_id": str(row.id)}, key=str(row.id), using_db=conn)

A rollback leaves no message; a commit leaves one that is delivered at least once: right after
the commit (by the committing process itself when it runs tasks, otherwise by one
``core.outbox_deliver`` task for all the messages of the transaction), and otherwise (the broker
lost the message, the process died, a retry is due) by the ``core.outbox_sweep`` schedule. Whoever delivers first claims
the row with one conditional UPDATE (pending and due, or claimed with an expired lease), so two
deliverers never both run a handler inside one lease. A handler that outlives its lease, or a
worker killed after its handler ran, means the handler may run again: handlers must be
idempotent on the message's ``key``.

Handlers are declared per kind with the ``vetrai_outbox_handlers`` hook (``OutboxHandler``).
``TemporaryDeliveryError`` and unexpected exceptions (logged with their traceback) retry with
exponential backoff up to ``max_attempts``; ``DeliveryError`` fails the message at once. A
claim counts as an attempt, so a message whose handler keeps killing its worker fails after
``max_attempts`` instead of being re-claimed forever.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import os
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient, TransactionalDBClient
from tortoise.expressions import F, Q
from tortoise.functions import Count, Min
from tortoise.transactions import in_transaction

from vetrai.core.hooks import DeliveryError, OutboxHandler, TemporaryDeliveryError
from vetrai.core.models import OutboxMessage
from vetrai.core.platform import current_platform

if TYPE_CHECKING:
    from tortoise.models import Model

    from vetrai.core.metrics import Metrics
    from vetrai.core.platform import Platform

log = logging.getLogger("vetrai.outbox")

PENDING, CLAIMED, DELIVERED, FAILED = "pending", "claimed", "delivered", "failed"
DELIVER_TASK = "core.outbox_deliver"
SWEEP_TASK = "core.outbox_sweep"
SWEEP_SECONDS = 2.0
SWEEP_GRACE = timedelta(seconds=2)
"""A due message is left this long to the task kicked for it before the sweep takes it."""
SWEEP_BATCH = 200
SWEEP_CONCURRENCY = 20
INLINE_RETRY_SECONDS = 30.0
"""A retry due sooner than this waits in the delivering task; a later one is left to the sweep."""
CLOCK_SLACK = timedelta(milliseconds=50)
MAX_ERROR = 2000
WORKER = f"{socket.gethostname()}:{os.getpid()}"[:80]

_kicks_after_commit: contextvars.ContextVar[list[uuid.UUID] | None] = contextvars.ContextVar(
    "vetrai_outbox_kicks", default=None
)


def now() -> datetime:
    return datetime.now(UTC)


@asynccontextmanager
async def transaction() -> AsyncIterator[BaseDBAsyncClient]:
    """A database transaction after whose commit the messages enqueued in it are kicked at once.

    Inside another transaction it is a savepoint and kicks nothing itself.
    """
    if _kicks_after_commit.get() is not None or _in_transaction(None):
        # A savepoint inside a transaction this block cannot see the commit of: the outermost
        # outbox.transaction() kicks, or (inside a plain Tortoise transaction) the sweep delivers.
        async with in_transaction() as conn:
            yield conn
        return
    kicks: list[uuid.UUID] = []
    token = _kicks_after_commit.set(kicks)
    try:
        async with in_transaction() as conn:
            yield conn
    finally:
        _kicks_after_commit.reset(token)
    # Reached only when the block did not raise, that is after the commit.
    await kick_delivery(*kicks)


def _in_transaction(using_db: BaseDBAsyncClient | None) -> bool:
    connection = using_db if using_db is not None else connections.get("default")
    return isinstance(connection, TransactionalDBClient)


async def enqueue(
    kind: str,
    payload: dict[str, Any],
    *,
    key: str | None = None,
    organization_id: uuid.UUID | str | None = None,
    delay: float = 0,
    using_db: BaseDBAsyncClient | None = None,
    kick: bool = True,
) -> uuid.UUID:
    """Write a message for ``kind``'s handler; call it inside the transaction of the state change.

    A message with the same ``kind`` and ``key`` is written once: a second call returns the
    first message's id and changes nothing (``INSERT ... ON CONFLICT DO NOTHING``, which keeps
    a PostgreSQL transaction usable). ``delay`` postpones the first attempt by that many seconds;
    ``kick=False`` sends no delivery task (the caller delivers it itself, or the sweep does).
    """
    handler = current_platform().plugins.outbox_handlers.get(kind)
    if handler is None:
        raise ValueError(f"no outbox handler is registered for kind {kind!r}")
    message_id = uuid.uuid4()
    key = key or str(message_id)
    row = OutboxMessage(
        id=message_id,
        kind=kind,
        key=key,
        organization_id=organization_id,
        payload=payload,
        max_attempts=handler.max_attempts,
        next_attempt_at=now() + timedelta(seconds=max(0.0, delay)),
        created_at=now(),
    )
    stored_id = message_id
    if not await _insert_unless_present(row, using_db):
        stored = await OutboxMessage.filter(kind=kind, key=key).using_db(using_db).first().values_list("id", flat=True)
        stored_id = cast(uuid.UUID, stored) if stored else message_id
    if stored_id != message_id or delay > 0 or not kick:
        return stored_id
    pending = _kicks_after_commit.get()
    if pending is not None:
        pending.append(message_id)
    elif not _in_transaction(using_db):
        await kick_delivery(message_id)
    # Inside a plain Tortoise transaction the commit is invisible here: the sweep delivers it.
    return message_id


_INSERT_SQL: dict[str, tuple[str, list[str]]] = {}


async def _insert_unless_present(row: OutboxMessage, using_db: BaseDBAsyncClient | None) -> bool:
    """``INSERT ... ON CONFLICT DO NOTHING RETURNING id``: whether ``row`` was written, in one
    round trip (Tortoise's ``bulk_create`` cannot say, which cost every message a read-back).
    The statement is Tortoise's own insert for the model, built once per dialect."""
    db = using_db or OutboxMessage._meta.db
    dialect = db.capabilities.dialect
    prepared = _INSERT_SQL.get(dialect)
    if prepared is None:
        meta = OutboxMessage._meta
        executor = db.executor_class(model=OutboxMessage, db=db)
        columns = [meta.fields_db_projection[name] for name in executor.regular_columns]
        query = executor._prepare_insert_statement(columns, has_generated=False, ignore_conflicts=True)
        prepared = _INSERT_SQL[dialect] = (
            str(cast(Any, query).returning(meta.db_pk_column)),
            list(executor.regular_columns),
        )
    sql, names = prepared
    fields = OutboxMessage._meta.fields_map
    return bool(await db.execute_query_dict(sql, [fields[name].to_db_value(getattr(row, name), row) for name in names]))


async def kick_delivery(*message_ids: uuid.UUID) -> None:
    """Have committed messages delivered now: by this process when it runs tasks (a worker, or
    the server with the in-memory broker), otherwise by one ``core.outbox_deliver`` task for
    all of them. A broker failure is left to the sweep."""
    if not message_ids:
        return
    platform = current_platform()
    if platform.runs_tasks and not platform.stopping:
        platform.run_soon(deliver_batch(platform, list(message_ids)))
        return
    task = platform.broker.find_task(DELIVER_TASK)
    if task is None:
        return
    try:
        await task.kiq([str(message_id) for message_id in message_ids])
    except Exception:
        log.exception("could not queue outbox messages %s; the sweep will deliver them", message_ids)


async def retry(kind: str, key: str, *, using_db: BaseDBAsyncClient | None = None) -> bool:
    """Start a failed message over (attempts 0, due now); False when it is not failed."""
    updated = (
        await OutboxMessage.filter(kind=kind, key=key, status=FAILED)
        .using_db(using_db)
        .update(status=PENDING, attempts=0, next_attempt_at=now(), last_error=None, lease_until=None)
    )
    if updated:
        ids = cast(
            list[uuid.UUID],
            await OutboxMessage.filter(kind=kind, key=key).using_db(using_db).values_list("id", flat=True),
        )
        pending = _kicks_after_commit.get()
        if pending is not None:
            pending.extend(ids)
        elif not _in_transaction(using_db):
            await kick_delivery(*ids)
    return bool(updated)


def _claimable(current: datetime) -> Q:
    due = Q(status=PENDING) & Q(next_attempt_at__lte=current + CLOCK_SLACK)
    abandoned = Q(status=CLAIMED) & Q(lease_until__lt=current)
    return due | abandoned


async def claim(message_id: uuid.UUID, handler: OutboxHandler) -> OutboxMessage | None:
    """Take the message for one attempt (attempts + 1, a lease), or None if it is not claimable."""
    current = now()
    token = f"{WORKER}:{uuid.uuid4().hex[:12]}"
    updated = await OutboxMessage.filter(Q(id=message_id) & _claimable(current)).update(
        status=CLAIMED,
        claimed_by=token,
        lease_until=current + timedelta(seconds=handler.lease_seconds),
        attempts=F("attempts") + 1,
    )
    if not updated:
        return None
    return await OutboxMessage.get_or_none(id=message_id, claimed_by=token)


async def _finish(
    platform: Platform, message: OutboxMessage, handler: OutboxHandler, status: str, **changes: Any
) -> None:
    """Settle as delivered or failed (emptying the payload if the handler asks) and count it."""
    if handler.erase_payload:
        changes["payload"] = {}
    await _settle(message, status=status, **changes)
    _count(platform, message.kind, status)


async def _settle(message: OutboxMessage, **changes: Any) -> bool:
    """Record the attempt's outcome unless another deliverer took the message over meanwhile."""
    updated = await OutboxMessage.filter(id=message.id, status=CLAIMED, claimed_by=message.claimed_by).update(
        lease_until=None, claimed_by=None, **changes
    )
    if not updated:
        log.warning("outbox message %s (%s) was taken over after its lease expired", message.id, message.kind)
    return bool(updated)


def _count(platform: Platform, kind: str, outcome: str) -> None:
    platform.metrics.outbox_deliveries.labels(kind, outcome).inc()


async def _attempt(
    platform: Platform,
    message: OutboxMessage,
    handler: OutboxHandler,
    delivered: list[OutboxMessage] | None = None,
) -> float | None:
    """Run the handler once on a claimed message; the delay of the retry it scheduled, or None.
    With ``delivered`` a success is appended there for the caller to settle with others."""
    if message.attempts > message.max_attempts:
        # Claimed again after its lease expired too often: the handler kills its worker.
        await _finish(
            platform, message, handler, FAILED, last_error="gave up: the worker was lost during the last attempt"
        )
        log.error("outbox message %s (%s) failed: its worker was lost on every attempt", message.id, message.kind)
        return None
    try:
        await handler.handler(message)
    except asyncio.CancelledError:
        # The process is stopping: hand the message back at once rather than after the lease.
        with contextlib.suppress(BaseException):
            await asyncio.shield(_settle(message, status=PENDING, next_attempt_at=now()))
        raise
    except DeliveryError as exc:
        await _finish(platform, message, handler, FAILED, last_error=(str(exc) or type(exc).__name__)[:MAX_ERROR])
        log.warning("outbox message %s (%s) failed permanently: %s", message.id, message.kind, exc)
        return None
    except Exception as exc:
        text = str(exc) or type(exc).__name__
        if isinstance(exc, TemporaryDeliveryError):
            log.warning("outbox message %s (%s) attempt %s failed: %s", message.id, message.kind, message.attempts, exc)
        else:
            log.exception("outbox handler of %s raised on message %s", message.kind, message.id)
        if message.attempts >= message.max_attempts:
            last_error = f"gave up after {message.attempts} attempts: {text}"[:MAX_ERROR]
            await _finish(platform, message, handler, FAILED, last_error=last_error)
            return None
        retry_after = exc.retry_after if isinstance(exc, TemporaryDeliveryError) else None
        delay = retry_after if retry_after is not None else handler.backoff.delay(message.attempts)
        await _settle(
            message, status=PENDING, last_error=text[:MAX_ERROR], next_attempt_at=now() + timedelta(seconds=delay)
        )
        _count(platform, message.kind, "retried")
        return delay
    if delivered is not None:
        delivered.append(message)
        return None
    await _finish(platform, message, handler, DELIVERED, last_error=None, delivered_at=now())
    return None


async def deliver_once(platform: Platform, message_id: uuid.UUID) -> tuple[str, float | None]:
    """One claim and attempt: (the message's status afterwards, the retry delay if one is due)."""
    kind = cast(list[str], await OutboxMessage.filter(id=message_id).values_list("kind", flat=True))
    if not kind:
        return "missing", None
    handler = platform.plugins.outbox_handlers.get(kind[0])
    if handler is None:
        return "unhandled", None  # its plugin is not enabled in this process
    message = await claim(message_id, handler)
    if message is None:
        status = cast(list[str], await OutboxMessage.filter(id=message_id).values_list("status", flat=True))
        return (status[0] if status else "missing"), None
    delay = await _attempt(platform, message, handler)
    return (PENDING if delay is not None else "done"), delay


async def deliver(message_ids: str | list[str]) -> str:
    """taskiq task ``core.outbox_deliver``: deliver messages now (a soon retry waits here).
    One id is what versions before batching sent."""
    ids = [message_ids] if isinstance(message_ids, str) else message_ids
    await deliver_batch(current_platform(), [uuid.UUID(message_id) for message_id in ids])
    return "done"


async def deliver_batch(platform: Platform, message_ids: list[uuid.UUID]) -> None:
    """Deliver messages committed together: one read, one claim per lease length and one
    settle for all that succeed, instead of four queries each. A message that is not fresh
    (pending and never attempted) is delivered on its own by ``deliver_once``."""
    handlers = platform.plugins.outbox_handlers
    current = now()
    fresh = await OutboxMessage.filter(id__in=message_ids, status=PENDING, attempts=0, next_attempt_at__lte=current)
    groups: dict[float, list[OutboxMessage]] = {}
    for message in fresh:
        handler = handlers.get(message.kind)
        if handler is not None:  # without it, its plugin is not enabled in this process
            groups.setdefault(handler.lease_seconds, []).append(message)
    token = f"{WORKER}:{uuid.uuid4().hex[:12]}"
    claimed: list[OutboxMessage] = []
    for lease_seconds, group in groups.items():
        lease_until = current + timedelta(seconds=lease_seconds)
        ids = [message.id for message in group]
        taken = await OutboxMessage.filter(
            Q(id__in=ids) & Q(status=PENDING, attempts=0, next_attempt_at__lte=current + CLOCK_SLACK)
        ).update(status=CLAIMED, claimed_by=token, lease_until=lease_until, attempts=F("attempts") + 1)
        if taken < len(group):  # another deliverer took some of them first
            mine = set(await OutboxMessage.filter(id__in=ids, claimed_by=token).values_list("id", flat=True))
            group = [message for message in group if message.id in mine]
        for message in group:
            message.status, message.claimed_by, message.lease_until, message.attempts = CLAIMED, token, lease_until, 1
        claimed += group
    delivered: list[OutboxMessage] = []
    retries = await asyncio.gather(
        *(_attempt(platform, message, handlers[message.kind], delivered) for message in claimed)
    )
    await _settle_delivered(platform, delivered, token)
    handled = {message.id for message in fresh}
    later = [(message_id, 0.0) for message_id in message_ids if message_id not in handled]
    later += [
        (message.id, delay)
        for message, delay in zip(claimed, retries, strict=True)
        if delay is not None and delay <= INLINE_RETRY_SECONDS
    ]
    await asyncio.gather(*(_deliver_until_settled(platform, message_id, delay) for message_id, delay in later))


async def _settle_delivered(platform: Platform, messages: list[OutboxMessage], token: str) -> None:
    """Mark a batch's successes delivered: one UPDATE per kind of payload handling."""
    handlers = platform.plugins.outbox_handlers
    for erase in (False, True):
        ids = [message.id for message in messages if handlers[message.kind].erase_payload is erase]
        if not ids:
            continue
        changes: dict[str, Any] = {"payload": {}} if erase else {}
        updated = await OutboxMessage.filter(id__in=ids, status=CLAIMED, claimed_by=token).update(
            status=DELIVERED, last_error=None, delivered_at=now(), lease_until=None, claimed_by=None, **changes
        )
        if updated < len(ids):
            log.warning("%s outbox messages were taken over after their lease expired", len(ids) - updated)
    for message in messages:
        _count(platform, message.kind, DELIVERED)


async def _deliver_until_settled(platform: Platform, message_id: uuid.UUID, delay: float = 0.0) -> None:
    """Deliver one message after ``delay``, waiting here for retries due within
    ``INLINE_RETRY_SECONDS`` (a later one is the sweep's)."""
    while True:
        await asyncio.sleep(delay)
        _status, next_delay = await deliver_once(platform, message_id)
        if next_delay is None or next_delay > INLINE_RETRY_SECONDS:
            return
        delay = next_delay


async def unadopted(
    model: type[Model], kind: str, *, grace: timedelta = timedelta(seconds=60), limit: int = 500
) -> list[tuple[uuid.UUID, uuid.UUID | None]]:
    """``(id, organization_id)`` of a delivery table's stuck rows the outbox has no message for.

    Rows written before a plugin used the outbox (or while it could not send) stay ``queued``,
    or ``sending`` with an expired lease; rows the outbox knows are its sweep's business. The
    table needs ``status``, ``next_attempt_at``, ``locked_until`` and ``created_at``.
    """
    current = now()
    stale = await (
        model.filter(
            Q(status="queued", next_attempt_at=None, created_at__lt=current - grace)
            | Q(status="queued", next_attempt_at__lt=current - grace)
            | Q(status="sending", locked_until__lt=current)
        )
        .limit(limit)
        .values_list("id", "organization_id")
    )
    keys = [str(row_id) for row_id, _organization_id in stale]
    known = {str(key) for key in await OutboxMessage.filter(kind=kind, key__in=keys).values_list("key", flat=True)}
    return [(row_id, organization_id) for row_id, organization_id in stale if str(row_id) not in known]


async def sweep(platform: Platform | None = None, limit: int = SWEEP_BATCH) -> int:
    """Deliver messages that are due and nobody is delivering: lost kicks, due retries, expired leases."""
    platform = platform or current_platform()
    kinds = list(platform.plugins.outbox_handlers)
    if not kinds:
        return 0
    current = now()
    due = Q(status=PENDING) & Q(next_attempt_at__lte=current - SWEEP_GRACE)
    abandoned = Q(status=CLAIMED) & Q(lease_until__lt=current)
    ids = cast(
        list[uuid.UUID],
        await OutboxMessage.filter(Q(kind__in=kinds) & (due | abandoned))
        .order_by("next_attempt_at")
        .limit(limit)
        .values_list("id", flat=True),
    )
    if not ids:
        return 0
    gate = asyncio.Semaphore(SWEEP_CONCURRENCY)

    async def one(message_id: uuid.UUID) -> None:
        async with gate:
            await deliver_once(platform, message_id)

    await asyncio.gather(*(one(message_id) for message_id in ids))
    log.info("outbox sweep took up %s due messages", len(ids))
    return len(ids)


async def sweep_task() -> int:
    """taskiq task ``core.outbox_sweep`` (scheduled)."""
    return await sweep()


async def refresh_metrics(metrics: Metrics) -> None:
    """Set the backlog gauges before a scrape (registered by the core plugin's ``vetrai_metrics``)."""
    rows = await backlog()
    metrics.outbox_backlog.clear()
    metrics.outbox_oldest_age.clear()
    current = now()
    for row in rows:
        metrics.outbox_backlog.labels(row["kind"], row["status"]).set(row["count"])
        if row["status"] == PENDING and row["oldest"] is not None:
            metrics.outbox_oldest_age.labels(row["kind"]).set(max(0.0, (current - row["oldest"]).total_seconds()))


async def backlog() -> list[dict[str, Any]]:
    """Undelivered messages by kind and status, with the oldest one's due time (for metrics)."""
    return list(
        await OutboxMessage.filter(status__in=[PENDING, CLAIMED])
        .annotate(count=Count("id"), oldest=Min("next_attempt_at"))
        .group_by("kind", "status")
        .values("kind", "status", "count", "oldest")
    )
