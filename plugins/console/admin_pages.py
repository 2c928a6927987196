"""The super admin's organizations page: every organization with its plan, limits and active flag.

Only a super admin sees it; anyone else gets the 404 page, as for an object of another
organization, so the page does not reveal that it exists.
"""

from __future__ import annotations

from typing import Any

from quart import Response, redirect, request
from quart_schema import hide

from vetrai.core.permissions import SUPER_ADMIN
from vetrai.plugins.console.api import ApiError
from vetrai.plugins.console.routes import api, blueprint, error_page, page, session

BASE = "/api/v1/organizations"
LIMITS = ("max_users", "max_api_keys", "max_concurrent_jobs", "max_monthly_jobs", "max_storage_bytes")


def _is_super_admin() -> bool:
    return session().principal.role == SUPER_ADMIN


async def _admin_page(status: int = 200, **extra: Any) -> Response:
    listing = await api().get(BASE, include_inactive="true", limit=200, cursor=request.args.get("cursor"))
    return await page(
        "console/admin.html",
        status,
        title="Organizations",
        organizations=listing["items"],
        next_cursor=listing.get("next_cursor"),
        limit_names=LIMITS,
        **extra,
    )


@blueprint.get("/admin")
@hide
async def organizations() -> Response:
    """Every organization, active or not, with plan and limits (HTML; super admin only)."""
    if not _is_super_admin():
        return await error_page(404, "There is no such page.")
    return await _admin_page()


@blueprint.post("/admin/organizations/<organization_id>")
@hide
async def update_organization(organization_id: str) -> Response:
    """Deactivate or reactivate an organization, or change its plan and limits (HTML form)."""
    if not _is_super_admin():
        return await error_page(404, "There is no such page.")
    form = await request.form
    changes: dict[str, Any] = {}
    if form.get("is_active") in ("true", "false"):
        changes["is_active"] = form["is_active"] == "true"
    if form.get("plan"):
        changes["plan"] = form["plan"].strip()
        # A blank limit keeps its value: the API merges the limits it is sent.
        changes["limits"] = {name: form[name].strip() for name in LIMITS if (form.get(name) or "").strip()}
    try:
        await api().put(f"{BASE}/{organization_id}", changes)
    except ApiError as exc:
        if exc.status in (403, 409, 422):
            return await _admin_page(exc.status, error=exc.message)
        raise
    return redirect("/console/admin?done=organization-updated", 303)
