"""Verified Stripe webhooks: each event id stored once with its effects, in order-safe steps.

Subscription events re-read the subscription from Stripe (the current state, whatever order
events arrive in) and fall back to the payload only when Stripe cannot answer; invoices and
payments carry the Stripe time of the newest state applied (``stripe_version``) and an older
event never overwrites it; invoice and payment states only move forward.
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from vetrai.core.audit import record_audit
from vetrai.core.errors import ProblemError
from vetrai.core.imports import lazy_module
from vetrai.core.models import Organization
from vetrai.core.platform import Platform, current_platform
from vetrai.plugins.billing import stripe_api
from vetrai.plugins.billing.models import (
    BillingCustomer,
    BillingInvoice,
    BillingPayment,
    BillingWebhookEvent,
)
from vetrai.plugins.billing.runtime import BillingRuntime, runtime
from vetrai.plugins.billing.stripe_objects import _id, _invoice_fields, _lock_or_create, _metadata
from vetrai.plugins.billing.subscriptions import Effects, apply_subscription

stripe = lazy_module("stripe")  # loaded on first use: a deployment without Stripe never pays for it

log = logging.getLogger("vetrai.billing")


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
