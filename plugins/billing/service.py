"""Billing: plans, Stripe customers and subscriptions, verified webhooks, usage metering; no HTTP.

The service API routes, tasks and tests call, gathered from the modules that hold it:
``runtime``, ``plans``, ``customers``, ``subscriptions``, ``checkout``, ``webhooks``, ``usage``.
"""

from __future__ import annotations

from vetrai.plugins.billing.checkout import checkout_session as checkout_session
from vetrai.plugins.billing.checkout import portal_session as portal_session
from vetrai.plugins.billing.customers import ensure_customer as ensure_customer
from vetrai.plugins.billing.plans import list_plans as list_plans
from vetrai.plugins.billing.plans import plan_named as plan_named
from vetrai.plugins.billing.plans import serialize_plan as serialize_plan
from vetrai.plugins.billing.runtime import RUNTIME as RUNTIME
from vetrai.plugins.billing.runtime import BillingRuntime as BillingRuntime
from vetrai.plugins.billing.runtime import build_runtime as build_runtime
from vetrai.plugins.billing.runtime import organization_id_of as organization_id_of
from vetrai.plugins.billing.runtime import runtime as runtime
from vetrai.plugins.billing.runtime import stripe_client as stripe_client
from vetrai.plugins.billing.stripe_objects import from_epoch as from_epoch
from vetrai.plugins.billing.subscriptions import ENTITLED_STATUSES as ENTITLED_STATUSES
from vetrai.plugins.billing.subscriptions import OPEN_STATUSES as OPEN_STATUSES
from vetrai.plugins.billing.subscriptions import Effects as Effects
from vetrai.plugins.billing.subscriptions import apply_subscription as apply_subscription
from vetrai.plugins.billing.subscriptions import cancel_subscription as cancel_subscription
from vetrai.plugins.billing.subscriptions import create_subscription as create_subscription
from vetrai.plugins.billing.subscriptions import get_subscription as get_subscription
from vetrai.plugins.billing.subscriptions import sync_organization as sync_organization
from vetrai.plugins.billing.usage import add_usage as add_usage
from vetrai.plugins.billing.usage import on_event as on_event
from vetrai.plugins.billing.usage import period_bounds as period_bounds
from vetrai.plugins.billing.usage import period_of as period_of
from vetrai.plugins.billing.usage import report_usage as report_usage
from vetrai.plugins.billing.usage import usage_of as usage_of
from vetrai.plugins.billing.webhooks import INVOICE_EVENTS as INVOICE_EVENTS
from vetrai.plugins.billing.webhooks import INVOICE_RANK as INVOICE_RANK
from vetrai.plugins.billing.webhooks import PAYMENT_EVENTS as PAYMENT_EVENTS
from vetrai.plugins.billing.webhooks import PAYMENT_RANK as PAYMENT_RANK
from vetrai.plugins.billing.webhooks import RECORDED_ONLY_EVENTS as RECORDED_ONLY_EVENTS
from vetrai.plugins.billing.webhooks import SUBSCRIPTION_EVENTS as SUBSCRIPTION_EVENTS
from vetrai.plugins.billing.webhooks import bad_webhook as bad_webhook
from vetrai.plugins.billing.webhooks import process_event as process_event
from vetrai.plugins.billing.webhooks import verify_webhook as verify_webhook
