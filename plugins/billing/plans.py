"""The plans this deployment sells, as the API shows them and as Stripe subscription items."""

from __future__ import annotations

from typing import Any

from vetrai.core.errors import field_error
from vetrai.plugins.billing.runtime import BillingRuntime, runtime
from vetrai.plugins.billing.settings import BillingPlan


def serialize_plan(plan: BillingPlan) -> dict[str, Any]:
    return {
        "name": plan.name,
        "display_name": plan.display_name or plan.name.title(),
        "amount": plan.amount,
        "currency": plan.currency,
        "interval": plan.interval,
        "stripe_price_id": plan.stripe_price_id,
        "limits": plan.limits,
        "metered": sorted(plan.usage_meters),
    }


def list_plans(rt: BillingRuntime | None = None) -> list[dict[str, Any]]:
    return [serialize_plan(plan) for plan in (rt or runtime()).settings.all_plans]


def plan_named(rt: BillingRuntime, name: str) -> BillingPlan:
    plan = rt.settings.plan(name)
    if plan is None:
        raise field_error("plan", f"unknown plan {name!r}", detail=f"unknown plan {name!r}")
    if not plan.stripe_price_id:
        raise field_error(
            "plan",
            "this plan is not sold through Stripe",
            detail=f"plan {name!r} needs no subscription; cancel the current subscription to return to it",
        )
    return plan


def _price_item(plan: BillingPlan) -> dict[str, Any]:
    """Stripe Prices are ``price_...``; anything else is a legacy Plan id (localstripe has only Plans)."""
    price = plan.stripe_price_id or ""
    return {"price": price, "quantity": 1} if price.startswith("price_") else {"plan": price, "quantity": 1}
