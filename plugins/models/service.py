"""Providers, secrets, usage and quotas: the models plugin's logic with no HTTP in it.

Routes, the CLI, the worker-side ``runtime`` module and tests call these functions. Plaintext
secrets exist only in a request body on the way in and, decrypted, in a worker's memory on the
way out to the provider: rows hold sealed values, responses the last 4 characters, and audit
entries and errors name providers, never keys.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F
from tortoise.functions import Sum
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from vetrai.core.audit import record_audit
from vetrai.core.auth import Principal
from vetrai.core.errors import ProblemError, conflict, forbidden, quota_exceeded, unprocessable
from vetrai.core.models import Organization
from vetrai.core.outbound import PrivateAddressError, ensure_public_host
from vetrai.core.platform import Platform, Slot, current_platform
from vetrai.core.tenancy import get_scoped, limits_of, scoped
from vetrai.plugins.models.crypto import Sealer, last4, mask
from vetrai.plugins.models.models import Provider, Secret, Usage
from vetrai.plugins.models.settings import ModelsSettings

if TYPE_CHECKING:
    from vetrai.plugins.models.schemas import ModelsProviderCreate, ModelsSecretCreate

TOKEN_LIMIT = "max_monthly_tokens"
NO_PROVIDER = "no model provider configured for this organization"
OPERATOR_ID = "operator"


@dataclass
class ModelsRuntime:
    """Per-process state: settings, the sealer and the short cache of decrypted providers/secrets."""

    settings: ModelsSettings
    sealer: Sealer
    cache: dict[tuple[str, ...], tuple[float, Any]] = field(default_factory=dict)

    def forget(self, organization_id: uuid.UUID | str) -> None:
        """Drop this organization's decrypted entries (after a change, in this process)."""
        prefix = str(organization_id)
        for key in [key for key in self.cache if key[0] == prefix]:
            self.cache.pop(key, None)


def build_runtime(platform: Platform) -> ModelsRuntime:
    settings = platform.plugin_settings("models", ModelsSettings)
    return ModelsRuntime(settings, Sealer(settings.encryption_keys, platform.settings.resolved_secret_key))


RUNTIME: Slot[ModelsRuntime] = Slot("models")


def runtime(platform: Platform | None = None) -> ModelsRuntime:
    return (platform or current_platform()).get(RUNTIME)


def _organization(principal: Principal) -> uuid.UUID:
    if principal.organization_id is None:
        raise forbidden("model providers and secrets belong to an organization")
    return principal.organization_id


async def _check_base_url(base_url: str | None) -> None:
    if base_url is None or runtime().settings.allow_private_base_urls:
        return
    try:
        await ensure_public_host(base_url)
    except PrivateAddressError as exc:
        raise unprocessable(
            [
                {
                    "loc": ["body", "base_url"],
                    "msg": f"{exc} (VETRAI_MODELS_ALLOW_PRIVATE_BASE_URLS)",
                    "type": "value_error",
                }
            ]
        ) from None
    except OSError:
        raise unprocessable(
            [{"loc": ["body", "base_url"], "msg": "the host does not resolve", "type": "value_error"}]
        ) from None


def _check_default_model(models: list[str], default_model: str) -> None:
    if models and default_model not in models:
        raise unprocessable([{"loc": ["body", "default_model"], "msg": "must be one of models", "type": "value_error"}])


# --- providers ----------------------------------------------------------------------------------


async def _ensure_name_free(model: type[Provider | Secret], organization_id: Any, name: str) -> None:
    """Names are unique per organization (a unique index too; this answers with a clear 409 first)."""
    if await model.filter(organization_id=organization_id, name=name).exists():
        raise conflict(f"your organization already has a {model.KIND} named {name!r}")


async def _changed(principal: Principal, row: Provider | Secret, verb: str, data: dict[str, Any]) -> None:
    """After any change to a provider or secret: workers drop the organization's cached clients,
    and the audit log records who did what (names and fields, never values)."""
    runtime().forget(row.organization_id)  # type: ignore[attr-defined]
    await record_audit(
        f"models.{row.KIND}_{verb}", principal=principal, target_type=f"models_{row.KIND}", target_id=row.id, data=data
    )


async def _delete(principal: Principal, row: Provider | Secret) -> None:
    await row.delete()
    await _changed(principal, row, "deleted", {"name": row.name})


def visible_providers(principal: Principal) -> QuerySet[Provider]:
    return scoped(Provider, principal)


async def get_provider(principal: Principal, provider_id: str) -> Provider:
    return await get_scoped(Provider, principal, provider_id)


def _seal_headers(rt: ModelsRuntime, headers: dict[str, str]) -> tuple[str | None, dict[str, str]]:
    if not headers:
        return None, {}
    return rt.sealer.seal(json.dumps(headers)), {name: mask(value) for name, value in headers.items()}


async def create_provider(principal: Principal, data: ModelsProviderCreate) -> Provider:
    organization_id = _organization(principal)
    rt = runtime()
    _check_default_model(data.models, data.default_model)
    await _check_base_url(data.base_url)
    await _ensure_name_free(Provider, organization_id, data.name)
    headers_sealed, headers_masked = _seal_headers(rt, data.headers)
    async with in_transaction():
        first = not await Provider.filter(organization_id=organization_id).exists()
        is_default = first if data.is_default is None else data.is_default
        if is_default:
            await Provider.filter(organization_id=organization_id, is_default=True).update(is_default=False)
        row = await Provider.create(
            organization_id=organization_id,
            name=data.name,
            kind=data.kind,
            base_url=data.base_url,
            api_key_sealed=rt.sealer.seal(data.api_key),
            api_key_last4=last4(data.api_key),
            models=data.models,
            default_model=data.default_model,
            headers_sealed=headers_sealed,
            headers_masked=headers_masked,
            is_default=is_default,
        )
    await _changed(principal, row, "created", {"name": row.name, "kind": row.kind, "base_url": row.base_url})
    return row


NULLABLE_PROVIDER_FIELDS = ("base_url", "headers")


async def update_provider(principal: Principal, provider_id: str, changes: dict[str, Any]) -> Provider:
    """Partial update; null clears ``base_url`` (OpenAI's) and ``headers``, and leaves other fields as they are."""
    row = await get_provider(principal, provider_id)
    changes = {name: value for name, value in changes.items() if value is not None or name in NULLABLE_PROVIDER_FIELDS}
    rt = runtime()
    if "name" in changes and changes["name"] != row.name:
        await _ensure_name_free(Provider, row.organization_id, changes["name"])  # type: ignore[attr-defined]
        row.name = changes["name"]
    if "base_url" in changes:
        await _check_base_url(changes["base_url"])
        row.base_url = changes["base_url"]
    if "api_key" in changes:
        row.api_key_sealed = rt.sealer.seal(changes["api_key"])
        row.api_key_last4 = last4(changes["api_key"])
    if "headers" in changes:
        row.headers_sealed, row.headers_masked = _seal_headers(rt, changes["headers"] or {})
    for name in ("models", "default_model"):
        if name in changes:
            setattr(row, name, changes[name])
    _check_default_model(row.models, row.default_model)
    async with in_transaction():
        if changes.get("is_default") is True:
            await (
                Provider.filter(organization_id=row.organization_id, is_default=True)  # type: ignore[attr-defined]
                .exclude(id=row.id)
                .update(is_default=False)
            )
        if "is_default" in changes and changes["is_default"] is not None:
            row.is_default = changes["is_default"]
        await row.save()
    await _changed(principal, row, "updated", {"fields": sorted(changes)})
    return row


async def delete_provider(principal: Principal, provider_id: str) -> None:
    await _delete(principal, await get_provider(principal, provider_id))


# --- secrets --------------------------------------------------------------------------------------


def visible_secrets(principal: Principal) -> QuerySet[Secret]:
    return scoped(Secret, principal)


async def get_secret(principal: Principal, secret_id: str) -> Secret:
    return await get_scoped(Secret, principal, secret_id)


async def create_secret(principal: Principal, data: ModelsSecretCreate) -> Secret:
    organization_id = _organization(principal)
    await _ensure_name_free(Secret, organization_id, data.name)
    rt = runtime()
    row = await Secret.create(
        organization_id=organization_id,
        name=data.name,
        description=data.description,
        value_sealed=rt.sealer.seal(data.value),
        value_last4=last4(data.value),
    )
    await _changed(principal, row, "created", {"name": row.name})
    return row


async def update_secret(principal: Principal, secret_id: str, changes: dict[str, Any]) -> Secret:
    row = await get_secret(principal, secret_id)
    changes = {name: value for name, value in changes.items() if value is not None}
    rt = runtime()
    if "name" in changes and changes["name"] != row.name:
        await _ensure_name_free(Secret, row.organization_id, changes["name"])  # type: ignore[attr-defined]
        row.name = changes["name"]
    if changes.get("description") is not None:
        row.description = changes["description"]
    if "value" in changes:
        row.value_sealed = rt.sealer.seal(changes["value"])
        row.value_last4 = last4(changes["value"])
    await row.save()
    await _changed(principal, row, "updated", {"fields": sorted(changes)})
    return row


async def delete_secret(principal: Principal, secret_id: str) -> None:
    await _delete(principal, await get_secret(principal, secret_id))


# --- rotation ---------------------------------------------------------------------------------------


async def rotate_secrets(rt: ModelsRuntime) -> int:
    """Re-wrap every sealed value with the first key encryption key; returns how many values changed."""
    changed = 0
    for row in await Provider.all():
        updates = {"api_key_sealed": rt.sealer.rewrap(row.api_key_sealed)}
        if row.headers_sealed:
            updates["headers_sealed"] = rt.sealer.rewrap(row.headers_sealed)
        await Provider.filter(id=row.id).update(**updates)
        changed += len(updates)
    for secret in await Secret.all():
        await Secret.filter(id=secret.id).update(value_sealed=rt.sealer.rewrap(secret.value_sealed))
        changed += 1
    rt.cache.clear()
    return changed


# --- usage and quota -----------------------------------------------------------------------------------


def cost_of(settings: ModelsSettings, model: str, input_tokens: int, output_tokens: int) -> float:
    price = settings.prices.get(model)
    if price is None:
        return 0.0
    return input_tokens / 1000 * price.input_per_1k + output_tokens / 1000 * price.output_per_1k


async def record_usage(
    organization_id: uuid.UUID | str, model: str, input_tokens: int, output_tokens: int, day: date | None = None
) -> None:
    """Add one call's tokens to the (organization, day, model) row; an atomic increment across processes."""
    day = day or datetime.now(UTC).date()
    cost = cost_of(runtime().settings, model, input_tokens, output_tokens)
    key = {"organization_id": organization_id, "day": day, "model": model[:200]}
    increments = {
        "calls": F("calls") + 1,
        "input_tokens": F("input_tokens") + input_tokens,
        "output_tokens": F("output_tokens") + output_tokens,
        "cost": F("cost") + cost,
    }
    if await Usage.filter(**key).update(**increments):
        return
    try:
        await Usage.create(**key, calls=1, input_tokens=input_tokens, output_tokens=output_tokens, cost=cost)
    except IntegrityError:
        await Usage.filter(**key).update(**increments)


def month_start(now: datetime | None = None) -> date:
    return (now or datetime.now(UTC)).date().replace(day=1)


async def tokens_this_month(organization_id: uuid.UUID | str) -> int:
    rows = (
        await Usage.filter(organization_id=organization_id, day__gte=month_start())
        .annotate(i=Sum("input_tokens"), o=Sum("output_tokens"))
        .values("i", "o")
    )
    if not rows:
        return 0
    return int(rows[0]["i"] or 0) + int(rows[0]["o"] or 0)


async def token_quota_problem(organization_id: uuid.UUID | str) -> ProblemError | None:
    """The 403 quota-exceeded problem when this month's tokens reached the plan's max_monthly_tokens."""
    organization = await Organization.get_or_none(id=organization_id)
    if organization is None:
        return None
    maximum = limits_of(organization).get(TOKEN_LIMIT)
    if maximum is None:
        return None
    used = await tokens_this_month(organization_id)
    if used < maximum:
        return None
    return quota_exceeded(
        f"{TOKEN_LIMIT} of the {organization.plan!r} plan is {maximum} and this month's usage is {used}; "
        "upgrade the plan to run more model calls",
        limit=TOKEN_LIMIT,
        maximum=maximum,
        current=used,
    )


def _parse_day(value: str | None, default: date) -> date:
    if not value:
        return default
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        raise ProblemError(400, f"invalid date {value!r}; use YYYY-MM-DD") from None


async def usage_report(
    principal: Principal, start: str | None, end: str | None, organization_id: uuid.UUID | None = None
) -> dict[str, Any]:
    """Tokens and cost per day and model between ``start`` and ``end`` (inclusive; default this month).

    A super_admin sees every organization (or one, with ``organization_id``); anyone else their own.
    """
    today = datetime.now(UTC).date()
    first = _parse_day(start, month_start())
    last = _parse_day(end, today)
    if last < first:
        raise ProblemError(400, "'to' is before 'from'")
    if last - first > timedelta(days=366):
        raise ProblemError(400, "a usage report spans at most 366 days")
    query = Usage.filter(day__gte=first, day__lte=last)
    if principal.is_super_admin:
        if organization_id is not None:
            query = query.filter(organization_id=organization_id)
    else:
        query = query.filter(organization_id=_organization(principal))
    rows = await (
        query.annotate(i=Sum("input_tokens"), o=Sum("output_tokens"), c=Sum("cost"))
        .group_by("day", "model")
        .order_by("day", "model")
        .values("day", "model", "i", "o", "c")
    )
    items = [
        {
            "day": row["day"] if isinstance(row["day"], date) else date.fromisoformat(str(row["day"])),
            "model": row["model"],
            "input_tokens": int(row["i"] or 0),
            "output_tokens": int(row["o"] or 0),
            "cost": round(float(row["c"] or 0), 6),
        }
        for row in rows
    ]
    totals = {
        "input_tokens": sum(item["input_tokens"] for item in items),
        "output_tokens": sum(item["output_tokens"] for item in items),
        "cost": round(sum(item["cost"] for item in items), 6),
    }
    totals["total_tokens"] = totals["input_tokens"] + totals["output_tokens"]
    return {"from": first, "to": last, "items": items, "totals": totals}


# --- admission of model workflows -----------------------------------------------------------------------


async def has_provider(organization_id: uuid.UUID | str) -> bool:
    """The organization has a provider of its own, or its plan is granted the operator's."""
    if await Provider.filter(organization_id=organization_id).exists():
        return True
    return await operator_granted(organization_id)


async def operator_granted(organization_id: uuid.UUID | str) -> bool:
    operator = runtime().settings.operator
    if operator is None:
        return False
    if operator.plans is None:
        return True
    plan = await Organization.filter(id=organization_id).values_list("plan", flat=True)
    return bool(plan) and plan[0] in operator.plans


async def admit(organization_id: uuid.UUID | str, values: dict[str, Any]) -> None:
    """Refuse a model workflow before it is queued: 422 with no provider, 403 with no tokens left.
    With the models plugin disabled its workflows are still installed but nothing is checked:
    its tables are not there."""
    if "models" not in current_platform().plugins.order:
        return
    if not await has_provider(organization_id):
        raise unprocessable([{"loc": ["body", "template"], "msg": NO_PROVIDER, "type": "value_error"}], NO_PROVIDER)
    problem = await token_quota_problem(organization_id)
    if problem is not None:
        raise problem
