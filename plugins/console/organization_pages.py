"""The organization in the console: plan usage, members and roles, recent activity."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from quart import Response, redirect, request
from quart_schema import hide

from vetrai.core.platform import current_platform
from vetrai.plugins.console import engine_client
from vetrai.plugins.console.api import ApiError
from vetrai.plugins.console.charts import usage_chart
from vetrai.plugins.console.routes import api, blueprint, error_page, page, session

CHART_DAYS = 30
ROLES = ("user", "org_admin", "support_agent", "billing_admin")


async def _organization_page(status: int = 200, **extra: Any) -> Response:
    principal = session().principal
    if principal.organization_id is None:
        return await error_page(404, "You belong to no organization.")
    organization = await api().get(f"/api/v1/organizations/{principal.organization_id}")
    members = (await api().get("/api/v1/users", limit=200))["items"]
    limits = organization.get("limits") or {}
    usage = [("Members", len(members), limits.get("max_users"), len(members) >= 200)]
    if "keys" in current_platform().plugins.infos:
        keys_listing = (await api().get("/api/v1/keys", limit=200))["items"]
        active = sum(1 for key in keys_listing if key["status"] == "active")
        usage.append(("API keys", active, limits.get("max_api_keys"), len(keys_listing) >= 200))
    stored = await api().get(f"/api/v1/organizations/{principal.organization_id}/usage")
    usage.append(("Storage (bytes)", stored["storage_bytes"], stored["max_storage_bytes"], False))
    if "workers" in current_platform().plugins.infos:
        month = datetime.now(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0).isoformat()
        runs_this_month, capped = await engine_client.monthly_run_count(api(), month[:19])
        usage.append(("Runs this month", runs_this_month, limits.get("max_monthly_jobs"), capped))
    charts = await _daily_charts()
    audit = (await api().get("/api/v1/audit-logs", limit=20))["items"] if principal.can("auth:audit") else []
    return await page(
        "console/organization.html",
        status,
        audit=audit,
        charts=charts,
        member_emails={member["id"]: member["email"] for member in members},
        title="Organization",
        organization=organization,
        members=members,
        usage=[
            {
                "label": label,
                "used": used,
                "limit": limit,
                "capped": capped,
                "percent": min(100, round(100 * used / limit)) if limit else 0,
            }
            for label, used, limit, capped in usage
        ],
        roles=ROLES,
        **extra,
    )


async def _daily_charts() -> list[dict[str, Any]]:
    """Runs per day (failed ones darker) and, with the models plugin, tokens per day: the last 30 days."""
    today = datetime.now(UTC).date()
    first = (today - timedelta(days=CHART_DAYS - 1)).isoformat()
    window = {"from": first, "to": today.isoformat()}
    charts = []
    if "workers" in current_platform().plugins.infos:
        runs, capped = await engine_client.daily_run_counts(api(), first)
        daily = [{"date": day, **counts} for day, counts in runs.items()]
        charts.append(
            {
                "name": "runs",
                "title": "Runs per day",
                "unit": "runs",
                "capped": capped,
                "chart": usage_chart({**window, "daily": daily}),
            }
        )
    if "models" in current_platform().plugins.infos:
        usage = await api().get("/api/v1/models/usage", **{"from": first, "to": today.isoformat()})
        tokens: dict[str, int] = {}
        for item in usage["items"]:
            day = str(item["day"])
            tokens[day] = tokens.get(day, 0) + int(item["input_tokens"]) + int(item["output_tokens"])
        daily = [{"date": day, "requests": count, "errors": 0} for day, count in tokens.items()]
        charts.append(
            {
                "name": "tokens",
                "title": "Model tokens per day",
                "unit": "tokens",
                "capped": False,
                "chart": usage_chart({**window, "daily": daily}),
            }
        )
    return charts


@blueprint.get("/organization")
@hide
async def organization() -> Response:
    """Members and roles, plan and limits with usage (HTML)."""
    return await _organization_page()


@blueprint.post("/organization/members")
@hide
async def add_member() -> Response:
    """Add a member with a role and a first password (HTML form)."""
    form = await request.form
    body = {
        "email": (form.get("email") or "").strip(),
        "password": form.get("password") or "",
        "role": form.get("role") or "user",
        "first_name": (form.get("first_name") or "").strip(),
        "last_name": (form.get("last_name") or "").strip(),
    }
    try:
        await api().post("/api/v1/users", body)
    except ApiError as exc:
        if exc.status in (403, 409, 422):
            return await _organization_page(exc.status, error=exc.message, form=body)
        raise
    return redirect("/console/organization?done=member-added", 303)


@blueprint.post("/organization/members/<user_id>")
@hide
async def update_member(user_id: str) -> Response:
    """Change a member's role, or deactivate / reactivate them (HTML form)."""
    form = await request.form
    changes: dict[str, Any] = {}
    if form.get("role"):
        changes["role"] = form["role"]
    if form.get("is_active") in ("true", "false"):
        changes["is_active"] = form["is_active"] == "true"
    try:
        await api().put(f"/api/v1/users/{user_id}", changes)
    except ApiError as exc:
        if exc.status in (403, 409, 422):
            return await _organization_page(exc.status, error=exc.message)
        raise
    return redirect("/console/organization?done=member-updated", 303)
