"""Subscriptions: creating and cancelling them in Stripe, mirroring them, and the organization's plan.

Stripe is the source of truth: the API calls store what Stripe answered, and the organization
gets the plan and limits of its entitled subscription (or the default plan).
"""

from __future__ import annotations

import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from tortoise.transactions import in_transaction

from vetrai.core.audit import record_audit
from vetrai.core.auth import Principal
from vetrai.core.errors import ProblemError, conflict
from vetrai.core.imports import lazy_module
from vetrai.core.models import Organization
from vetrai.core.platform import Platform, current_platform
from vetrai.core.tenancy import get_scoped
from vetrai.plugins.billing import stripe_api
from vetrai.plugins.billing.customers import _set_payment_method, ensure_customer
from vetrai.plugins.billing.models import BillingSubscription
from vetrai.plugins.billing.plans import _price_item, plan_named
from vetrai.plugins.billing.runtime import BillingRuntime, organization_id_of, runtime, stripe_client
from vetrai.plugins.billing.stripe_objects import _lock_or_create, _subscription_fields

stripe = lazy_module("stripe")  # loaded on first use: a deployment without Stripe never pays for it

log = logging.getLogger("vetrai.billing")


ENTITLED_STATUSES = ("active", "trialing", "past_due")
"""Statuses that grant the subscription's plan (past_due: while Stripe retries the payment)."""


OPEN_STATUSES = ("incomplete", "trialing", "active", "past_due", "unpaid", "paused")
"""Statuses that count as the organization's one current subscription."""


@dataclass
class Effects:
    """Domain events to emit once the transaction that caused them has committed."""

    events: list[tuple[str, dict[str, Any], uuid.UUID | None, uuid.UUID | None]] = field(default_factory=list)

    def emit(
        self, name: str, data: dict[str, Any], organization_id: uuid.UUID | None, actor_id: uuid.UUID | None = None
    ) -> None:
        self.events.append((name, data, organization_id, actor_id))

    async def flush(self, platform: Platform) -> None:
        for name, data, organization_id, actor_id in self.events:
            await platform.events.emit(name, data, organization_id=organization_id, actor_id=actor_id)
        self.events.clear()


async def sync_organization(rt: BillingRuntime, organization_id: uuid.UUID, principal: Principal | None = None) -> None:
    """Give the organization the plan and limits of its entitled subscription, or the default plan."""
    current = (
        await BillingSubscription.filter(organization_id=organization_id, status__in=ENTITLED_STATUSES)
        .order_by("-created_at")
        .first()
    )
    plan = rt.settings.plan(current.plan) if current is not None else None
    plan = plan or rt.settings.plan(rt.settings.default_plan)
    name = plan.name if plan is not None else rt.settings.default_plan
    limits = dict(plan.limits) if plan is not None else {}
    organization = await Organization.filter(id=organization_id).select_for_update().get_or_none()
    if organization is None or (organization.plan == name and (organization.limits or {}) == limits):
        return
    previous = organization.plan
    organization.plan = name
    organization.limits = limits
    await organization.save(update_fields=["plan", "limits", "updated_at"])
    await record_audit(
        "billing.organization_plan_changed",
        principal=principal,
        organization_id=organization_id,
        target_type="organization",
        target_id=organization_id,
        data={"from": previous, "to": name, "limits": limits},
    )


async def apply_subscription(
    rt: BillingRuntime,
    data: dict[str, Any],
    version: int,
    organization_id: uuid.UUID,
    effects: Effects,
    *,
    current: bool = False,
    principal: Principal | None = None,
) -> tuple[str, BillingSubscription]:
    """Store a Stripe subscription; ``current`` means just read from Stripe (newest by definition)."""
    values = _subscription_fields(rt, data)
    row, created = await _lock_or_create(
        BillingSubscription,
        {"stripe_subscription_id": data["id"]},
        {"organization_id": organization_id, "stripe_version": version, **values},
    )
    before: tuple[Any, ...] | None = None
    if not created:
        if not current and version < row.stripe_version:
            return "stale", row
        before = (row.plan, row.status, row.cancel_at_period_end)
        for name, value in values.items():
            setattr(row, name, value)
        row.stripe_version = max(row.stripe_version, version)
        await row.save()
    after = (row.plan, row.status, row.cancel_at_period_end)
    if before != after:
        await record_audit(
            "billing.subscription_changed",
            principal=principal,
            organization_id=row.organization_id,  # type: ignore[attr-defined]
            target_type="subscription",
            target_id=row.id,
            data={
                "plan": row.plan,
                "status": row.status,
                "cancel_at_period_end": row.cancel_at_period_end,
                "previous_status": before[1] if before else None,
            },
        )
        effects.emit(
            "billing.subscription_changed",
            {"plan": row.plan, "status": row.status},
            row.organization_id,  # type: ignore[attr-defined]
            principal.user_id if principal else None,
        )
    await sync_organization(rt, row.organization_id, principal)  # type: ignore[attr-defined]
    return "applied", row


async def create_subscription(principal: Principal, plan_name: str, payment_method: str | None) -> BillingSubscription:
    rt = runtime()
    plan = plan_named(rt, plan_name)
    client = stripe_client(rt)
    organization_id = organization_id_of(principal)
    async with rt.lock(organization_id), _cluster_lock(organization_id):
        if await BillingSubscription.filter(organization_id=organization_id, status__in=OPEN_STATUSES).exists():
            raise conflict("the organization already has a subscription; cancel it or change it instead")
        customer = await ensure_customer(rt, principal)
        if payment_method:
            await _set_payment_method(client, customer.stripe_customer_id, payment_method)
        started = int(time.time())
        created = await stripe_api.call(
            client.v1.subscriptions.create_async(
                {
                    "customer": customer.stripe_customer_id,
                    "items": [_price_item(plan)],  # type: ignore[list-item]
                    "payment_behavior": "error_if_incomplete",
                    "metadata": {"organization_id": str(organization_id), "plan": plan.name},
                }
            )
        )
        data = stripe_api.as_dict(created)
        if data.get("status") == "incomplete":
            # error_if_incomplete: Stripe normally answers 402 itself; never keep a half-made one.
            try:
                await client.v1.subscriptions.cancel_async(data["id"])
            except stripe.StripeError:
                log.warning("could not cancel incomplete subscription %s", data["id"])
            raise ProblemError(
                402, "the first payment of the subscription failed", kind="card-declined", title="Payment failed"
            )
        effects = Effects()
        async with in_transaction():
            _outcome, row = await apply_subscription(
                rt, data, started, organization_id, effects, current=True, principal=principal
            )
        await effects.flush(current_platform())
    return row


@contextlib.asynccontextmanager
async def _cluster_lock(organization_id: uuid.UUID) -> AsyncIterator[None]:
    """With Redis, one subscription creation per organization at a time across all servers."""
    platform = current_platform()
    if platform.redis is None:
        yield
        return
    key = f"{platform.settings.redis_prefix}billing:subscribe:{organization_id}"
    token = uuid.uuid4().hex
    if not await platform.redis.set(key, token, nx=True, ex=120):
        raise conflict("a subscription for this organization is being created right now")
    try:
        yield
    finally:
        if (await platform.redis.get(key)) == token.encode():
            await platform.redis.delete(key)


async def get_subscription(principal: Principal, subscription_id: str) -> BillingSubscription:
    return await get_scoped(BillingSubscription, principal, subscription_id)


async def cancel_subscription(principal: Principal, subscription_id: str, at_period_end: bool) -> BillingSubscription:
    rt = runtime()
    row = await get_subscription(principal, subscription_id)
    if row.status in ("canceled", "incomplete_expired"):
        raise conflict("the subscription has already ended")
    client = stripe_client(rt)
    started = int(time.time())
    if at_period_end:
        if row.cancel_at_period_end:
            return row
        result = await stripe_api.call(
            client.v1.subscriptions.update_async(row.stripe_subscription_id, {"cancel_at_period_end": True})
        )
    else:
        result = await stripe_api.call(client.v1.subscriptions.cancel_async(row.stripe_subscription_id))
    effects = Effects()
    async with in_transaction():
        _outcome, row = await apply_subscription(
            rt,
            stripe_api.as_dict(result),
            started,
            row.organization_id,
            effects,
            current=True,
            principal=principal,  # type: ignore[attr-defined]
        )
    await effects.flush(current_platform())
    return row
