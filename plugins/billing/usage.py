"""Usage metering: counts per organization, metric and month, reported to Stripe billing meters."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F

from vetrai.core.auth import Principal
from vetrai.core.imports import lazy_module
from vetrai.core.models import Organization
from vetrai.core.platform import Platform, current_platform
from vetrai.plugins.billing.models import (
    BillingSubscription,
    BillingUsage,
)
from vetrai.plugins.billing.runtime import organization_id_of, runtime
from vetrai.plugins.billing.settings import USAGE_METRICS
from vetrai.plugins.billing.subscriptions import ENTITLED_STATUSES

stripe = lazy_module("stripe")  # loaded on first use: a deployment without Stripe never pays for it

log = logging.getLogger("vetrai.billing")


def period_of(moment: datetime | None = None) -> str:
    return (moment or datetime.now(UTC)).strftime("%Y-%m")


def period_bounds(period: str) -> tuple[datetime, datetime]:
    year, month = (int(part) for part in period.split("-"))
    start = datetime(year, month, 1, tzinfo=UTC)
    end = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=UTC)
    return start, end


async def add_usage(organization_id: uuid.UUID, metric: str, quantity: int, moment: datetime | None = None) -> None:
    """Add to this period's counter of ``metric`` (an atomic increment, safe across processes)."""
    if quantity <= 0 or metric not in USAGE_METRICS:
        return
    period = period_of(moment)
    filters = {"organization_id": organization_id, "period": period, "metric": metric}
    if await BillingUsage.filter(**filters).update(quantity=F("quantity") + quantity):
        return
    if not await Organization.filter(id=organization_id).exists():
        return  # erased meanwhile: its usage goes with it
    try:
        await BillingUsage.create(**filters, quantity=quantity)
    except IntegrityError:
        await BillingUsage.filter(**filters).update(quantity=F("quantity") + quantity)


async def on_event(name: str, data: dict[str, Any], organization_id: uuid.UUID | None) -> None:
    """Feed usage from domain events: finished job runs (and their model tokens) and flushed API-key requests."""
    if name == "engine.job_finished" and organization_id is not None:
        await add_usage(organization_id, "job_runs", 1)
        usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}
        try:
            tokens = int(usage.get("total_tokens") or 0)
        except (TypeError, ValueError):
            tokens = 0
        await add_usage(organization_id, "llm_tokens", tokens)
    elif name == "keys.usage_flushed":
        totals: dict[uuid.UUID, int] = {}
        for item in data.get("counts") or []:
            try:
                owner = uuid.UUID(str(item.get("organization_id") or organization_id))
                totals[owner] = totals.get(owner, 0) + int(item.get("requests") or 0)
            except (TypeError, ValueError, AttributeError):
                continue
        for owner, requests in totals.items():
            await add_usage(owner, "api_requests", requests)


async def usage_of(
    principal: Principal, period: str | None, organization_id: uuid.UUID | None = None
) -> dict[str, Any]:

    owner = (
        organization_id if (organization_id is not None and principal.is_super_admin) else organization_id_of(principal)
    )
    period = period or period_of()
    start, end = period_bounds(period)
    rows = {row.metric: row for row in await BillingUsage.filter(organization_id=owner, period=period)}
    subscription = (
        await BillingSubscription.filter(organization_id=owner, status__in=ENTITLED_STATUSES)
        .order_by("-created_at")
        .first()
    )
    plan = runtime().settings.plan(subscription.plan) if subscription else None
    return {
        "organization_id": owner,
        "period": period,
        "period_start": start,
        "period_end": end,
        "items": [
            {
                "metric": metric,
                "quantity": rows[metric].quantity if metric in rows else 0,
                "reported_quantity": rows[metric].reported_quantity if metric in rows else 0,
                "metered": bool(plan and metric in plan.usage_meters),
            }
            for metric in USAGE_METRICS
        ],
    }


async def report_usage(platform: Platform | None = None) -> int:
    """Send unreported usage of metered plans to Stripe as meter events; returns how many were sent.

    The total being reported is written down first and the idempotency key is derived from it,
    so a retry after a crash resends the same delta under the same key and Stripe counts it once.
    """
    platform = platform or current_platform()
    rt = runtime(platform)
    if rt.stripe is None:
        return 0
    sent = 0
    now = datetime.now(UTC)
    for row in await BillingUsage.all().order_by("id"):
        if row.quantity <= row.reported_quantity and row.reporting_quantity is None:
            continue
        subscription = (
            await BillingSubscription.filter(organization_id=row.organization_id, status__in=ENTITLED_STATUSES)  # type: ignore[attr-defined]
            .order_by("-created_at")
            .first()
        )
        plan = rt.settings.plan(subscription.plan) if subscription else None
        meter = plan.usage_meters.get(row.metric) if plan else None
        if subscription is None or not meter:
            continue
        if row.reporting_quantity is None:
            claimed = await BillingUsage.filter(id=row.id, reporting_quantity=None).update(
                reporting_quantity=row.quantity
            )
            if not claimed:
                continue
            row.reporting_quantity = row.quantity
        target = row.reporting_quantity
        delta = target - row.reported_quantity
        if delta > 0:
            identifier = f"vetrai-{row.organization_id}-{row.metric}-{row.period}-{row.reported_quantity}-{target}"  # type: ignore[attr-defined]
            _start, end = period_bounds(row.period)
            timestamp = int(min(now, end).timestamp()) - (1 if now >= end else 0)
            try:
                await rt.stripe.v1.billing.meter_events.create_async(
                    {
                        "event_name": meter,
                        "payload": {"stripe_customer_id": subscription.stripe_customer_id, "value": str(delta)},
                        "identifier": identifier,
                        "timestamp": timestamp,
                    },
                    options={"idempotency_key": identifier},
                )
            except stripe.StripeError as exc:
                log.warning("reporting usage %s to Stripe failed (kept for the next run): %s", identifier, exc)
                continue
            sent += 1
        await BillingUsage.filter(id=row.id).update(reported_quantity=target, reporting_quantity=None)
    return sent
