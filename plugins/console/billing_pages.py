"""Billing in the console: the plans, the organization's subscription and invoices, Stripe Checkout and portal.

Everything goes through the billing API; Checkout and the portal are Stripe pages, so the
console asks the API for a session and sends the browser there.
"""

from __future__ import annotations

from typing import Any

from quart import Response, redirect, request
from quart_schema import hide

from vetrai.core.permissions import BILLING_ADMIN, ORG_ADMIN
from vetrai.core.platform import current_platform
from vetrai.plugins.console.api import ApiError
from vetrai.plugins.console.routes import api, blueprint, error_page, page, session

BASE = "/api/v1/billing"


def is_manager() -> bool:
    return session().principal.has_role(ORG_ADMIN, BILLING_ADMIN)


def _console_url(path: str) -> str:
    return current_platform().settings.resolved_public_url.rstrip("/") + path


@blueprint.get("/billing")
@hide
async def billing() -> Response:
    """Plans with their limits and, for managers, the subscriptions and invoices (HTML)."""
    plans = (await api().get(f"{BASE}/plans"))["items"]
    principal = session().principal
    organization = await api().get(f"/api/v1/organizations/{principal.organization_id}")
    subscriptions: list[dict[str, Any]] = []
    invoices: list[dict[str, Any]] = []
    if is_manager():
        subscriptions = (await api().get(f"{BASE}/subscriptions", limit=20))["items"]
        invoices = (await api().get(f"{BASE}/invoices", limit=50))["items"]
    return await page(
        "console/billing.html",
        title="Billing",
        plans=plans,
        current_plan=organization["plan"],
        subscriptions=subscriptions,
        invoices=invoices,
        manager=is_manager(),
    )


async def _to_stripe(path: str, body: dict[str, Any]) -> Response:
    try:
        created = await api().post(f"{BASE}/{path}", body)
    except ApiError as exc:
        if exc.status in (402, 409, 422, 503):
            return await error_page(exc.status, exc.message)
        raise
    return redirect(created["url"], 303)


@blueprint.post("/billing/checkout")
@hide
async def checkout() -> Response:
    """Subscribe to a plan through Stripe Checkout (HTML form; redirects to Stripe)."""
    form = await request.form
    return await _to_stripe(
        "checkout",
        {
            "plan": form.get("plan") or "",
            "success_url": _console_url("/console/billing?done=subscribed"),
            "cancel_url": _console_url("/console/billing"),
        },
    )


@blueprint.post("/billing/portal")
@hide
async def portal() -> Response:
    """Open Stripe's billing portal for cards and invoices (HTML form; redirects to Stripe)."""
    return await _to_stripe("portal", {"return_url": _console_url("/console/billing")})
