"""The Stripe SDK's async client, built from settings, and Stripe errors as problem+json."""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from typing import Any, TypeVar

from vetrai.core.errors import ProblemError
from vetrai.core.imports import lazy_module
from vetrai.plugins.billing.settings import BillingSettings

stripe = lazy_module("stripe")  # loaded on first use: a deployment without Stripe never pays for it
T = TypeVar("T")
log = logging.getLogger("vetrai.billing")


def build_client(settings: BillingSettings) -> tuple[stripe.StripeClient | None, stripe.HTTPXClient | None]:
    """A StripeClient on httpx (async) and its HTTP client, or Nones without an API key."""
    if not settings.stripe_api_key:
        return None, None
    base = {"api": settings.stripe_api_base.rstrip("/")} if settings.stripe_api_base else None
    http_client = stripe.HTTPXClient(timeout=30)
    client = stripe.StripeClient(
        settings.stripe_api_key,
        base_addresses=base,  # type: ignore[arg-type]
        http_client=http_client,
        max_network_retries=2,
    )
    return client, http_client


async def close_client(http_client: stripe.HTTPXClient | None) -> None:
    if http_client is None:
        return
    try:
        await http_client.close_async()
    except Exception:  # pragma: no cover - closing is best effort
        log.debug("closing the Stripe HTTP client failed", exc_info=True)


def not_configured() -> ProblemError:
    return ProblemError(
        503,
        "billing is not configured on this server: set VETRAI_BILLING_STRIPE_API_KEY",
        kind="billing-not-configured",
        title="Billing not configured",
    )


def problem_from(error: stripe.StripeError) -> ProblemError:
    """A Stripe failure as a useful problem; never a 500."""
    message = error.user_message or str(error) or "Stripe refused the request"
    code = getattr(error, "code", None)
    if isinstance(error, stripe.CardError):
        extra: dict[str, Any] = {"code": code or "card_declined"}
        decline = getattr(error, "decline_code", None) if hasattr(error, "decline_code") else None
        if decline:
            extra["decline_code"] = decline
        return ProblemError(402, message, kind="card-declined", title="Payment failed", **extra)
    if isinstance(error, stripe.InvalidRequestError):
        return ProblemError(422, f"Stripe rejected the request: {message}", kind="stripe-invalid-request", code=code)
    if isinstance(error, stripe.AuthenticationError | stripe.PermissionError):
        log.error("Stripe refused our credentials: %s", error)
        return ProblemError(503, "billing is misconfigured (Stripe refused the API key)", kind="billing-not-configured")
    if isinstance(error, stripe.RateLimitError):
        return ProblemError(
            503,
            "Stripe is rate limiting us; try again shortly",
            kind="stripe-unavailable",
            headers={"Retry-After": "5"},
        )
    if isinstance(error, stripe.APIConnectionError):
        return ProblemError(
            503, "Stripe cannot be reached; try again shortly", kind="stripe-unavailable", headers={"Retry-After": "5"}
        )
    log.warning("Stripe error: %s", error)
    return ProblemError(502, f"Stripe failed: {message}", kind="stripe-error")


async def call(awaitable: Awaitable[T]) -> T:
    """Await one Stripe call, turning its errors into problems."""
    try:
        return await awaitable
    except stripe.StripeError as error:
        raise problem_from(error) from None


def as_dict(value: Any) -> dict[str, Any]:
    if isinstance(value, stripe.StripeObject):
        return value.to_dict()
    return dict(value)
