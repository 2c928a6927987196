from __future__ import annotations

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator
from pydantic_settings import SettingsConfigDict

from vetrai.core.config import PluginSettings
from vetrai.core.limits import DEFAULT_LIMITS, LIMIT_NAMES

USAGE_METRICS = ("job_runs", "api_requests", "llm_tokens")


class BillingPlan(BaseModel):
    """One plan this deployment sells; ``stripe_price_id`` None means no Stripe subscription (free)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=50, pattern=r"^[a-z0-9_-]+$")
    display_name: str = ""
    amount: int = Field(0, ge=0, description="Price per interval in the currency's smallest unit (cents).")
    currency: str = Field("usd", min_length=3, max_length=3)
    interval: str = Field("month", pattern=r"^(day|week|month|year)$")
    stripe_price_id: str | None = Field(None, description="Stripe Price id (price_...) or legacy Plan id.")
    limits: dict[str, int] = Field(default_factory=dict)
    usage_meters: dict[str, str] = Field(
        default_factory=dict,
        description="Usage metric (job_runs, api_requests, llm_tokens) -> Stripe billing meter event name.",
    )

    @field_validator("limits")
    @classmethod
    def _known_limits(cls, value: dict[str, int]) -> dict[str, int]:
        unknown = sorted(set(value) - set(LIMIT_NAMES))
        if unknown:
            raise ValueError(f"unknown limits {unknown}; known: {list(LIMIT_NAMES)}")
        return value

    @field_validator("usage_meters")
    @classmethod
    def _known_metrics(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value) - set(USAGE_METRICS))
        if unknown:
            raise ValueError(f"unknown usage metrics {unknown}; known: {list(USAGE_METRICS)}")
        return value


DEFAULT_PLANS: list[BillingPlan] = [
    BillingPlan(
        name="free",
        display_name="Free",
        amount=0,
        # The core's defaults, which an organization without a plan has; retention stays its own.
        limits={name: value for name, value in DEFAULT_LIMITS.items() if name != "retention_days"},
    ),
    BillingPlan(
        name="pro",
        display_name="Pro",
        amount=4900,
        stripe_price_id="vetrai_pro_monthly",
        limits={
            "max_users": 50,
            "max_api_keys": 50,
            "max_concurrent_jobs": 10,
            "max_monthly_jobs": 50_000,
            "max_storage_bytes": 50 * 1024**3,
            "max_monthly_external_messages": 10_000,
            "max_monthly_tokens": 50_000_000,
        },
    ),
    BillingPlan(
        name="enterprise",
        display_name="Enterprise",
        amount=49900,
        stripe_price_id="vetrai_enterprise_monthly",
        limits={
            "max_users": 1000,
            "max_api_keys": 1000,
            "max_concurrent_jobs": 100,
            "max_monthly_jobs": 1_000_000,
            "max_storage_bytes": 1024**4,
            "max_monthly_external_messages": 1_000_000,
            "max_monthly_tokens": 1_000_000_000,
        },
        usage_meters={
            "job_runs": "vetrai_job_runs",
            "api_requests": "vetrai_api_requests",
            "llm_tokens": "vetrai_llm_tokens",
        },
    ),
]


def _alias(name: str) -> AliasChoices:
    return AliasChoices(f"VETRAI_BILLING_{name.upper()}", f"VETRAI_{name.upper()}", name)


class BillingSettings(PluginSettings, plugin="billing"):
    """``VETRAI_BILLING_*``: Stripe credentials, the plans sold, usage reporting."""

    model_config = SettingsConfigDict(populate_by_name=True)

    stripe_api_key: str | None = Field(
        None,
        validation_alias=_alias("stripe_api_key"),
        description="Stripe secret key (sk_...; also read from VETRAI_STRIPE_API_KEY); unset = billing calls answer "
        "503.",
    )
    stripe_webhook_secret: str | None = Field(
        None,
        validation_alias=_alias("stripe_webhook_secret"),
        description="Signing secret (whsec_...) of the Stripe webhook endpoint; also VETRAI_STRIPE_WEBHOOK_SECRET. "
        "Unset = webhooks refused.",
    )
    stripe_api_base: str | None = Field(
        None,
        validation_alias=_alias("stripe_api_base"),
        description="Stripe API base URL, for a local Stripe server such as localstripe (also "
        "VETRAI_STRIPE_API_BASE); default Stripe's.",
    )
    webhook_tolerance_seconds: int = Field(
        300, ge=1, description="Oldest Stripe-Signature timestamp accepted, in seconds."
    )
    plans: list[BillingPlan] | None = Field(
        None,
        description="JSON list of plans [{name, amount, currency, interval, stripe_price_id, limits, usage_meters}]; "
        "default free, pro and enterprise.",
    )
    default_plan: str = Field("free", description="Plan an organization falls back to when its subscription ends.")
    usage_report_seconds: float = Field(3600, gt=0, description="How often metered usage is reported to Stripe.")
    checkout_success_url: str | None = Field(
        None, description="Where Stripe Checkout returns after payment; default PUBLIC_URL/billing/success."
    )
    checkout_cancel_url: str | None = Field(
        None, description="Where Stripe Checkout returns when abandoned; default PUBLIC_URL/billing/cancel."
    )
    portal_return_url: str | None = Field(
        None, description="Where the Stripe billing portal returns; default PUBLIC_URL/billing."
    )

    @field_validator("plans")
    @classmethod
    def _unique_names(cls, value: list[BillingPlan] | None) -> list[BillingPlan] | None:
        if value is None:
            return None
        names = [plan.name for plan in value]
        if len(names) != len(set(names)):
            raise ValueError("plan names must be unique")
        return value

    @property
    def all_plans(self) -> list[BillingPlan]:
        return self.plans if self.plans is not None else DEFAULT_PLANS

    def plan(self, name: str) -> BillingPlan | None:
        return next((plan for plan in self.all_plans if plan.name == name), None)

    def plan_for_price(self, price_id: str | None) -> BillingPlan | None:
        if not price_id:
            return None
        return next((plan for plan in self.all_plans if plan.stripe_price_id == price_id), None)
