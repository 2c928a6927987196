"""Billing: plans, Stripe customers and subscriptions, verified webhooks, usage metering; no HTTP.

Stripe is the source of truth. Our rows mirror it: the API calls store what Stripe answered,
and verified webhooks keep the rows in step. Every webhook event id is stored once, in the
same transaction as its effects, so a redelivery is a no-op. Order-safety: subscription events
re-read the subscription from Stripe (the current state, whatever order events arrive in) and
fall back to the event's payload only when Stripe cannot answer; payloads, invoices and payments
carry the Stripe time of the newest state applied (``stripe_version``) and an older event never
overwrites it; invoice and payment states only move forward.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from vetrai.core.audit import record_audit
from vetrai.core.auth import Principal
from vetrai.core.errors import ProblemError, conflict, unprocessable
from vetrai.core.imports import lazy_module
from vetrai.core.models import Organization
from vetrai.core.platform import Platform, current_platform
from vetrai.core.tenancy import get_scoped
from vetrai.plugins.billing import stripe_api
from vetrai.plugins.billing.models import (
    BillingCustomer,
    BillingInvoice,
    BillingPayment,
    BillingSubscription,
    BillingUsage,
    BillingWebhookEvent,
)
from vetrai.plugins.billing.settings import USAGE_METRICS, BillingPlan, BillingSettings

stripe = lazy_module("stripe")  # loaded on first use: a deployment without Stripe never pays for it
log = logging.getLogger("vetrai.billing")

ENTITLED_STATUSES = ("active", "trialing", "past_due")
"""Statuses that grant the subscription's plan (past_due: while Stripe retries the payment)."""
OPEN_STATUSES = ("incomplete", "trialing", "active", "past_due", "unpaid", "paused")
"""Statuses that count as the organization's one current subscription."""
INVOICE_RANK = {"draft": 0, "open": 1, "uncollectible": 2, "paid": 3, "void": 3}
PAYMENT_RANK = {
    "requires_payment_method": 0,
    "requires_confirmation": 0,
    "requires_action": 0,
    "processing": 1,
    "requires_capture": 1,
    "failed": 1,
    "canceled": 2,
    "succeeded": 2,
    "partially_refunded": 3,
    "refunded": 4,
}
SUBSCRIPTION_EVENTS = frozenset(
    {
        "customer.subscription.created",
        "customer.subscription.updated",
        "customer.subscription.deleted",
        "customer.subscription.paused",
        "customer.subscription.resumed",
        "customer.subscription.pending_update_applied",
        "customer.subscription.pending_update_expired",
        "customer.subscription.trial_will_end",
    }
)
INVOICE_EVENTS = frozenset(
    {
        "invoice.created",
        "invoice.finalized",
        "invoice.updated",
        "invoice.paid",
        "invoice.payment_succeeded",
        "invoice.payment_failed",
        "invoice.voided",
        "invoice.marked_uncollectible",
    }
)
PAYMENT_EVENTS = frozenset(
    {
        "payment_intent.created",
        "payment_intent.processing",
        "payment_intent.succeeded",
        "payment_intent.payment_failed",
        "payment_intent.canceled",
    }
)
RECORDED_ONLY_EVENTS = frozenset({"checkout.session.completed", "customer.created", "customer.updated"})


@dataclass
class BillingRuntime:
    settings: BillingSettings
    stripe: stripe.StripeClient | None
    http_client: stripe.HTTPXClient | None
    locks: dict[uuid.UUID, asyncio.Lock] = field(default_factory=dict)

    def lock(self, organization_id: uuid.UUID) -> asyncio.Lock:
        return self.locks.setdefault(organization_id, asyncio.Lock())


def build_runtime(platform: Platform) -> BillingRuntime:
    settings = platform.plugin_settings("billing", BillingSettings)
    client, http_client = stripe_api.build_client(settings)
    return BillingRuntime(settings=settings, stripe=client, http_client=http_client)


def runtime(platform: Platform | None = None) -> BillingRuntime:
    platform = platform or current_platform()
    rt = platform.state.get("billing")
    if rt is None:
        rt = platform.state["billing"] = build_runtime(platform)
    return rt


def stripe_client(rt: BillingRuntime | None = None) -> stripe.StripeClient:
    client = (rt or runtime()).stripe
    if client is None:
        raise stripe_api.not_configured()
    return client


# ---------------------------------------------------------------- small helpers


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


def organization_id_of(principal: Principal) -> uuid.UUID:
    if principal.organization_id is None:
        raise ProblemError(403, "billing belongs to an organization; this caller has none")
    return principal.organization_id


# ---------------------------------------------------------------- plans


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
        raise unprocessable(
            [{"loc": ["body", "plan"], "msg": f"unknown plan {name!r}", "type": "value_error"}],
            f"unknown plan {name!r}",
        )
    if not plan.stripe_price_id:
        raise unprocessable(
            [{"loc": ["body", "plan"], "msg": "this plan is not sold through Stripe", "type": "value_error"}],
            f"plan {name!r} needs no subscription; cancel the current subscription to return to it",
        )
    return plan


def _price_item(plan: BillingPlan) -> dict[str, Any]:
    """Stripe Prices are ``price_...``; anything else is a legacy Plan id (localstripe has only Plans)."""
    price = plan.stripe_price_id or ""
    return {"price": price, "quantity": 1} if price.startswith("price_") else {"plan": price, "quantity": 1}


# ---------------------------------------------------------------- serializers


def serialize_subscription(row: BillingSubscription) -> dict[str, Any]:
    return {
        "id": row.id,
        "organization_id": row.organization_id,  # type: ignore[attr-defined]
        "plan": row.plan,
        "status": row.status,
        "current_period_start": row.current_period_start,
        "current_period_end": row.current_period_end,
        "cancel_at_period_end": row.cancel_at_period_end,
        "canceled_at": row.canceled_at,
        "ended_at": row.ended_at,
        "stripe_subscription_id": row.stripe_subscription_id,
        "stripe_customer_id": row.stripe_customer_id,
        "stripe_price_id": row.stripe_price_id,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }


def serialize_invoice(row: BillingInvoice) -> dict[str, Any]:
    return {
        "id": row.id,
        "organization_id": row.organization_id,  # type: ignore[attr-defined]
        "number": row.number,
        "status": row.status,
        "amount_due": row.amount_due,
        "amount_paid": row.amount_paid,
        "currency": row.currency,
        "hosted_invoice_url": row.hosted_invoice_url,
        "period_start": row.period_start,
        "period_end": row.period_end,
        "lines": row.lines or [],
        "stripe_invoice_id": row.stripe_invoice_id,
        "stripe_subscription_id": row.stripe_subscription_id,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }


def serialize_payment(row: BillingPayment) -> dict[str, Any]:
    return {
        "id": row.id,
        "organization_id": row.organization_id,  # type: ignore[attr-defined]
        "amount": row.amount,
        "amount_refunded": row.amount_refunded,
        "currency": row.currency,
        "status": row.status,
        "failure_reason": row.failure_reason,
        "stripe_payment_intent_id": row.stripe_payment_intent_id,
        "stripe_invoice_id": row.stripe_invoice_id,
        "stripe_charge_id": row.stripe_charge_id,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }


# ---------------------------------------------------------------- Stripe objects -> our fields


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


# ---------------------------------------------------------------- organization <- subscription


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


# ---------------------------------------------------------------- customers and subscriptions


async def _user_email(principal: Principal) -> str | None:
    if principal.user_id is None:
        return None
    from vetrai.plugins.auth.models import User

    user = await User.get_or_none(id=principal.user_id)
    return getattr(user, "email", None)


async def ensure_customer(rt: BillingRuntime, principal: Principal) -> BillingCustomer:
    """The organization's Stripe customer, created (once, idempotently) when missing."""
    organization_id = organization_id_of(principal)
    row = await BillingCustomer.get_or_none(organization_id=organization_id)
    if row is not None:
        return row
    client = stripe_client(rt)
    organization = await Organization.get(id=organization_id)
    email = await _user_email(principal)
    params: dict[str, Any] = {"name": organization.name, "metadata": {"organization_id": str(organization_id)}}
    if email:
        params["email"] = email
    customer = await stripe_api.call(
        client.v1.customers.create_async(params, options={"idempotency_key": f"vetrai-customer-{organization_id}"})  # type: ignore[arg-type]
    )
    try:
        row = await BillingCustomer.create(organization_id=organization_id, stripe_customer_id=customer.id, email=email)
    except IntegrityError:
        row = await BillingCustomer.get(organization_id=organization_id)
    await record_audit(
        "billing.customer_created",
        principal=principal,
        target_type="customer",
        target_id=row.id,
        data={"stripe_customer_id": row.stripe_customer_id},
    )
    return row


async def _set_payment_method(client: stripe.StripeClient, customer_id: str, payment_method: str) -> str:
    """Attach the payment method and make it the customer's default for invoices.

    (Both Stripe and localstripe accept this; localstripe refuses ``default_payment_method``
    on the subscription itself.)
    """
    attached = await stripe_api.call(client.v1.payment_methods.attach_async(payment_method, {"customer": customer_id}))
    await stripe_api.call(
        client.v1.customers.update_async(customer_id, {"invoice_settings": {"default_payment_method": attached.id}})
    )
    return attached.id


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


# ---------------------------------------------------------------- hosted flows


def _public_url(path: str) -> str:
    return current_platform().settings.resolved_public_url.rstrip("/") + path


async def checkout_session(
    principal: Principal, plan_name: str, success_url: str | None, cancel_url: str | None
) -> dict[str, Any]:
    rt = runtime()
    plan = plan_named(rt, plan_name)
    client = stripe_client(rt)
    organization_id = organization_id_of(principal)
    if await BillingSubscription.filter(organization_id=organization_id, status__in=OPEN_STATUSES).exists():
        raise conflict("the organization already has a subscription; use the billing portal to change it")
    customer = await ensure_customer(rt, principal)
    item = _price_item(plan)
    session = await stripe_api.call(
        client.v1.checkout.sessions.create_async(
            {
                "mode": "subscription",
                "customer": customer.stripe_customer_id,
                "client_reference_id": str(organization_id),
                "line_items": [item],  # type: ignore[list-item]
                "success_url": success_url or rt.settings.checkout_success_url or _public_url("/billing/success"),
                "cancel_url": cancel_url or rt.settings.checkout_cancel_url or _public_url("/billing/cancel"),
                "subscription_data": {"metadata": {"organization_id": str(organization_id), "plan": plan.name}},
            }
        )
    )
    return {"id": session.id, "url": session.url}


async def portal_session(principal: Principal, return_url: str | None) -> dict[str, Any]:
    rt = runtime()
    client = stripe_client(rt)
    customer = await ensure_customer(rt, principal)
    session = await stripe_api.call(
        client.v1.billing_portal.sessions.create_async(
            {
                "customer": customer.stripe_customer_id,
                "return_url": return_url or rt.settings.portal_return_url or _public_url("/billing"),
            }
        )
    )
    return {"id": session.id, "url": session.url}


# ---------------------------------------------------------------- webhooks


def bad_webhook(detail: str) -> ProblemError:
    return ProblemError(400, detail, kind="invalid-webhook", title="Invalid webhook")


def verify_webhook(rt: BillingRuntime, payload: bytes, signature: str | None) -> dict[str, Any]:
    """The event, if ``Stripe-Signature`` is a valid signature of the raw body (400 otherwise)."""
    secret = rt.settings.stripe_webhook_secret
    if not secret:
        raise ProblemError(
            503, "webhooks are not configured: set VETRAI_BILLING_STRIPE_WEBHOOK_SECRET", kind="billing-not-configured"
        )
    if not signature:
        raise bad_webhook("missing Stripe-Signature header")
    try:
        text = payload.decode("utf-8")
        stripe.WebhookSignature.verify_header(text, signature, secret, rt.settings.webhook_tolerance_seconds)
    except stripe.SignatureVerificationError as exc:
        raise bad_webhook(f"signature verification failed: {exc.user_message or exc}") from None
    except (ValueError, IndexError):
        raise bad_webhook("malformed Stripe-Signature header") from None
    try:
        event = json.loads(text)
    except ValueError:
        raise bad_webhook("the body is not valid JSON") from None
    if (
        not isinstance(event, dict)
        or not isinstance(event.get("id"), str)
        or not isinstance(event.get("type"), str)
        or not isinstance(
            (event.get("data") or {}).get("object") if isinstance(event.get("data"), dict) else None, dict
        )
    ):
        raise bad_webhook("the body is not a Stripe event")
    return event


async def _organization_for(obj: dict[str, Any]) -> uuid.UUID | None:
    customer_id = _id(obj.get("customer"))
    if customer_id:
        row = await BillingCustomer.get_or_none(stripe_customer_id=customer_id)
        if row is not None:
            return row.organization_id  # type: ignore[attr-defined]
    candidate = _metadata(obj).get("organization_id") or obj.get("client_reference_id")
    try:
        organization_id = uuid.UUID(str(candidate)) if candidate else None
    except ValueError:
        return None
    if organization_id is not None and await Organization.filter(id=organization_id).exists():
        return organization_id
    return None


async def _apply_invoice(
    obj: dict[str, Any], version: int, organization_id: uuid.UUID, event_type: str, effects: Effects
) -> str:
    values = _invoice_fields(obj)
    if event_type == "invoice.paid" or event_type == "invoice.payment_succeeded":
        values["status"] = "paid" if values["status"] in ("open", "draft") else values["status"]
    row, created = await _lock_or_create(
        BillingInvoice,
        {"stripe_invoice_id": obj["id"]},
        {"organization_id": organization_id, "stripe_version": version, **values},
    )
    if not created:
        if version < row.stripe_version or INVOICE_RANK.get(values["status"], 0) < INVOICE_RANK.get(row.status, 0):
            return "stale"
        for name, value in values.items():
            if value is not None or name in ("hosted_invoice_url",):
                setattr(row, name, value)
        row.stripe_version = max(row.stripe_version, version)
        await row.save()
    if event_type == "invoice.payment_failed":
        await record_audit(
            "billing.payment_failed",
            organization_id=organization_id,
            target_type="invoice",
            target_id=row.id,
            data={"amount_due": row.amount_due, "currency": row.currency},
        )
        effects.emit(
            "billing.payment_failed",
            {"invoice_id": str(row.id), "amount_due": row.amount_due, "currency": row.currency},
            organization_id,
        )
    return "applied"


async def _apply_payment(obj: dict[str, Any], version: int, organization_id: uuid.UUID, event_type: str) -> str:
    status = str(obj.get("status") or "processing")
    failure = None
    if event_type == "payment_intent.payment_failed":
        status = "failed"
        error = obj.get("last_payment_error") or {}
        failure = (error.get("message") or error.get("code") or "payment failed")[:500]
    elif event_type == "payment_intent.succeeded":
        status = "succeeded"
    values = {
        "amount": int(obj.get("amount") or 0),
        "currency": str(obj.get("currency") or "usd")[:3],
        "status": status[:30],
        "failure_reason": failure,
        "stripe_invoice_id": _id(obj.get("invoice")),
        "stripe_charge_id": _id(obj.get("latest_charge")),
    }
    row, created = await _lock_or_create(
        BillingPayment,
        {"stripe_payment_intent_id": obj["id"]},
        {"organization_id": organization_id, "stripe_version": version, **values},
    )
    if created:
        return "applied"
    if version < row.stripe_version or PAYMENT_RANK.get(status, 0) < PAYMENT_RANK.get(row.status, 0):
        return "stale"
    for name, value in values.items():
        if value is not None or name == "failure_reason":
            setattr(row, name, value)
    row.stripe_version = max(row.stripe_version, version)
    await row.save()
    return "applied"


async def _apply_refund(obj: dict[str, Any], version: int, organization_id: uuid.UUID) -> str:
    intent = _id(obj.get("payment_intent")) or obj["id"]
    amount = int(obj.get("amount") or 0)
    refunded = int(obj.get("amount_refunded") or 0)
    status = "refunded" if refunded >= amount else "partially_refunded"
    row, created = await _lock_or_create(
        BillingPayment,
        {"stripe_payment_intent_id": intent},
        {
            "organization_id": organization_id,
            "stripe_charge_id": obj["id"],
            "amount": amount,
            "amount_refunded": refunded,
            "currency": str(obj.get("currency") or "usd")[:3],
            "status": status,
            "stripe_version": version,
        },
    )
    if created:
        return "applied"
    if refunded < row.amount_refunded:
        return "stale"
    row.amount_refunded = refunded
    row.status = status
    row.stripe_charge_id = obj["id"]
    row.stripe_version = max(row.stripe_version, version)
    await row.save()
    return "applied"


async def _fresh_subscription(rt: BillingRuntime, subscription_id: str) -> dict[str, Any] | None:
    """The subscription as Stripe has it now, or None when Stripe cannot say (then the payload counts)."""
    if rt.stripe is None:
        return None
    try:
        return stripe_api.as_dict(await rt.stripe.v1.subscriptions.retrieve_async(subscription_id))
    except stripe.StripeError as exc:
        if getattr(exc, "http_status", None) != 404:
            log.warning("could not re-read subscription %s from Stripe: %s", subscription_id, exc)
        return None


async def process_event(event: dict[str, Any], platform: Platform | None = None) -> dict[str, Any]:
    """Apply one verified event exactly once; returns ``{received, duplicate, outcome}``."""
    platform = platform or current_platform()
    rt = runtime(platform)
    event_id = event["id"][:255]
    event_type = event["type"][:100]
    try:
        version = int(event.get("created") or 0)
    except (TypeError, ValueError):
        version = 0
    obj: dict[str, Any] = event["data"]["object"]
    existing = await BillingWebhookEvent.get_or_none(id=event_id)
    if existing is not None:
        return {"received": True, "duplicate": True, "outcome": existing.outcome}
    fresh = None
    if event_type in SUBSCRIPTION_EVENTS and isinstance(obj.get("id"), str):
        fresh = await _fresh_subscription(rt, obj["id"])
    effects = Effects()
    try:
        async with in_transaction():
            await BillingWebhookEvent.create(id=event_id, type=event_type, stripe_created=version, outcome="processing")
            outcome, organization_id = await _dispatch(rt, event_type, obj, version, fresh, effects)
            await BillingWebhookEvent.filter(id=event_id).update(outcome=outcome, organization_id=organization_id)
    except IntegrityError:
        existing = await BillingWebhookEvent.get_or_none(id=event_id)
        if existing is None:
            raise
        return {"received": True, "duplicate": True, "outcome": existing.outcome}
    await effects.flush(platform)
    log.info("stripe event %s %s: %s", event_type, event_id, outcome)
    return {"received": True, "duplicate": False, "outcome": outcome}


async def _dispatch(
    rt: BillingRuntime,
    event_type: str,
    obj: dict[str, Any],
    version: int,
    fresh: dict[str, Any] | None,
    effects: Effects,
) -> tuple[str, uuid.UUID | None]:
    known = (
        event_type in SUBSCRIPTION_EVENTS | INVOICE_EVENTS | PAYMENT_EVENTS | RECORDED_ONLY_EVENTS
        or event_type == "charge.refunded"
    )
    if not known:
        return "unknown_type", None
    if not isinstance(obj.get("id"), str):
        return "ignored", None
    organization_id = await _organization_for(fresh or obj)
    if organization_id is None:
        return "unknown_customer", None
    if event_type in RECORDED_ONLY_EVENTS:
        return "recorded", organization_id
    if event_type in SUBSCRIPTION_EVENTS:
        outcome, _row = await apply_subscription(
            rt, fresh or obj, version, organization_id, effects, current=fresh is not None
        )
        return outcome, organization_id
    if event_type in INVOICE_EVENTS:
        return await _apply_invoice(obj, version, organization_id, event_type, effects), organization_id
    if event_type in PAYMENT_EVENTS:
        return await _apply_payment(obj, version, organization_id, event_type), organization_id
    return await _apply_refund(obj, version, organization_id), organization_id


# ---------------------------------------------------------------- usage metering


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
    if not await Organization.filter(id=organization_id).exists():
        return
    period = period_of(moment)
    filters = {"organization_id": organization_id, "period": period, "metric": metric}
    if await BillingUsage.filter(**filters).update(quantity=F("quantity") + quantity):
        return
    try:
        await BillingUsage.create(**filters, quantity=quantity)
    except IntegrityError:
        await BillingUsage.filter(**filters).update(quantity=F("quantity") + quantity)


async def on_event(name: str, data: dict[str, Any], organization_id: uuid.UUID | None) -> None:
    """Feed usage from domain events: finished job runs and flushed API-key requests."""
    if name == "engine.job_finished" and organization_id is not None:
        await add_usage(organization_id, "job_runs", 1)
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
