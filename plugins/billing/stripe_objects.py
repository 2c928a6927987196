"""Reading Stripe objects into our rows: ids, epochs, metadata, and a mirrored row locked for update."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from vetrai.plugins.billing.runtime import BillingRuntime


def from_epoch(value: Any) -> datetime | None:
    if value in (None, "", 0):
        return None
    try:
        return datetime.fromtimestamp(int(value), UTC)
    except (TypeError, ValueError, OverflowError):
        return None


def _id(value: Any) -> str | None:
    if isinstance(value, str):
        return value or None
    if isinstance(value, dict):
        inner = value.get("id")
        return inner if isinstance(inner, str) else None
    return None


def _metadata(data: dict[str, Any]) -> dict[str, Any]:
    metadata = data.get("metadata")
    return metadata if isinstance(metadata, dict) else {}


def _subscription_fields(rt: BillingRuntime, data: dict[str, Any]) -> dict[str, Any]:
    items = (data.get("items") or {}).get("data") or []
    first = items[0] if items and isinstance(items[0], dict) else {}
    price_id = _id(first.get("price")) or _id(first.get("plan")) or _id(data.get("plan"))
    plan = rt.settings.plan_for_price(price_id)
    plan_name = plan.name if plan else str(_metadata(data).get("plan") or price_id or "unknown")[:50]
    return {
        "stripe_customer_id": _id(data.get("customer")) or "",
        "stripe_price_id": price_id,
        "plan": plan_name,
        "status": str(data.get("status") or "incomplete")[:30],
        "current_period_start": from_epoch(data.get("current_period_start") or first.get("current_period_start")),
        "current_period_end": from_epoch(data.get("current_period_end") or first.get("current_period_end")),
        "cancel_at_period_end": bool(data.get("cancel_at_period_end")),
        "canceled_at": from_epoch(data.get("canceled_at")),
        "ended_at": from_epoch(data.get("ended_at")),
    }


def _invoice_fields(data: dict[str, Any]) -> dict[str, Any]:
    parent = data.get("parent") or {}
    subscription = _id(data.get("subscription")) or _id((parent.get("subscription_details") or {}).get("subscription"))
    lines = []
    line_periods = []
    for line in ((data.get("lines") or {}).get("data") or [])[:100]:
        period = line.get("period") or {}
        line_periods.append(period)
        lines.append(
            {
                "description": line.get("description"),
                "amount": int(line.get("amount") or 0),
                "currency": line.get("currency") or data.get("currency") or "usd",
                "quantity": line.get("quantity"),
                "period_start": from_epoch(period.get("start")).isoformat()
                if from_epoch(period.get("start"))
                else None,
                "period_end": from_epoch(period.get("end")).isoformat() if from_epoch(period.get("end")) else None,
            }
        )
    start = data.get("period_start") or (line_periods[0].get("start") if line_periods else None)
    end = data.get("period_end") or (line_periods[0].get("end") if line_periods else None)
    return {
        "stripe_subscription_id": subscription,
        "stripe_payment_intent_id": _id(data.get("payment_intent")),
        "number": data.get("number"),
        "status": str(data.get("status") or "draft")[:30],
        "amount_due": int(data.get("amount_due") or 0),
        "amount_paid": int(data.get("amount_paid") or 0),
        "currency": str(data.get("currency") or "usd")[:3],
        "hosted_invoice_url": (data.get("hosted_invoice_url") or None),
        "period_start": from_epoch(start),
        "period_end": from_epoch(end),
        "lines": lines,
    }


async def _lock_or_create(model: type[Any], key: dict[str, Any], values: dict[str, Any]) -> tuple[Any, bool]:
    """The row with ``key`` locked for this transaction, created from ``values`` when missing.

    Stripe delivers events concurrently: when two transactions both try to create the row, the
    loser's insert fails inside a savepoint and it then waits for and locks the winner's row.
    """
    row = await model.filter(**key).select_for_update().first()
    if row is not None:
        return row, False
    try:
        async with in_transaction():
            return await model.create(**key, **values), True
    except IntegrityError:
        return await model.filter(**key).select_for_update().get(), False
