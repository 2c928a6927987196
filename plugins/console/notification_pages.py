"""Notification preferences for everyone, and the templates with a preview render for admins.

The preferences and the templates come from the notifications API. The API has no preview
endpoint, so the preview renders the template the API returned with the notifications
plugin's own sandboxed renderer (the one delivery uses: same forbidden constructs, same
deadline) on sample data the admin may edit; nothing is stored or sent.
"""

from __future__ import annotations

import json
from typing import Any

from quart import Response, redirect, request
from quart_schema import hide

from vetrai.core.permissions import ORG_ADMIN
from vetrai.plugins.console.api import ApiError
from vetrai.plugins.console.routes import api, blueprint, error_page, page, session

BASE = "/api/v1/notifications"


def sample_context() -> dict[str, Any]:
    """Variables delivery gives every template, with the signed-in user's own values."""
    principal = session().principal
    return {
        "app_name": "VetrAI",
        "app_url": "https://example.com",
        "organization": {"id": str(principal.organization_id), "name": "Your organization", "slug": "your-org"},
        "notification": {"id": "00000000-0000-0000-0000-000000000000", "channel": "email", "category": "system"},
        "user": {"id": str(principal.user_id), "email": "you@example.com", "first_name": "Ada", "name": "Ada"},
    }


async def _preferences_page(status: int = 200, **extra: Any) -> Response:
    preferences = await api().get(f"{BASE}/preferences")
    off = {(rule["category"], rule["channel"]) for rule in preferences["opt_outs"]}
    return await page(
        "console/notification_preferences.html",
        status,
        title="Notification preferences",
        categories=preferences["categories"],
        channels=preferences["channels"],
        off=off,
        is_admin=session().principal.has_role(ORG_ADMIN),
        **extra,
    )


@blueprint.get("/notifications/preferences")
@hide
async def preferences() -> Response:
    """Which categories reach you on which channel (HTML)."""
    return await _preferences_page()


@blueprint.post("/notifications/preferences")
@hide
async def save_preferences() -> Response:
    """Save the grid: every unticked box is an opt-out (HTML form)."""
    form = await request.form
    current = await api().get(f"{BASE}/preferences")
    wanted = set(form.getlist("on"))
    opt_outs = [
        {"category": category["name"], "channel": channel}
        for category in current["categories"]
        if category["can_opt_out"]
        for channel in current["channels"]
        if f"{category['name']}:{channel}" not in wanted
    ]
    try:
        await api().put(f"{BASE}/preferences", {"opt_outs": opt_outs})
    except ApiError as exc:
        if exc.status in (403, 422):
            return await _preferences_page(exc.status, error=exc.message)
        raise
    return redirect("/console/notifications/preferences?done=preferences-saved", 303)


@blueprint.get("/notifications/templates")
@hide
async def templates() -> Response:
    """The organization's templates and the global defaults (HTML; org_admin)."""
    if not session().principal.has_role(ORG_ADMIN):
        return await error_page(403, "Only an organization admin sees the templates.")
    listing = await api().get(f"{BASE}/templates", limit=200, cursor=request.args.get("cursor"))
    return await page(
        "console/notification_templates.html",
        title="Notification templates",
        templates=listing["items"],
        next_cursor=listing.get("next_cursor"),
    )


@blueprint.get("/notifications/templates/<template_id>")
@hide
async def template_preview(template_id: str) -> Response:
    """A template's source and its render on sample data (``?context=`` JSON overrides it) (HTML)."""
    from vetrai.plugins.notifications.templates import Part, TemplateProblem, render_parts

    if not session().principal.has_role(ORG_ADMIN):
        return await error_page(403, "Only an organization admin sees the templates.")
    template = await api().get(f"{BASE}/templates/{template_id}")
    context = sample_context()
    context_text = request.args.get("context") or json.dumps(context, indent=2)
    error = None
    rendered: dict[str, str] = {}
    try:
        extra = json.loads(context_text)
        if not isinstance(extra, dict):
            raise ValueError("the sample data must be a JSON object")
        context.update(extra)
        parts = [Part("body", template["body"])]
        if template.get("subject"):
            parts.insert(0, Part("subject", template["subject"]))
        if template.get("html"):
            parts.append(Part("html", template["html"], html=True))
        rendered = dict(zip([part.field for part in parts], await render_parts(parts, context), strict=True))
    except (ValueError, TemplateProblem) as exc:  # JSONDecodeError is a ValueError
        error = str(exc)
    return await page(
        "console/notification_template.html",
        422 if error else 200,
        title=f"Template {template['name']}",
        notification_template=template,
        rendered=rendered,
        context_text=context_text,
        error=error,
    )
