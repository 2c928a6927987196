"""The notifications inbox in the console: your in-app notifications, read and unread, on the notifications API."""

from __future__ import annotations

from quart import Response, redirect, request
from quart_schema import hide

from vetrai.plugins.console.routes import api, blueprint, page, session

BASE = "/api/v1/notifications"


@blueprint.get("/inbox")
@hide
async def inbox() -> Response:
    """Your in-app notifications, newest first; ``?unread=true`` for the unread ones (HTML)."""
    unread = request.args.get("unread") == "true"
    listing = await api().get(
        BASE,
        channel="in_app",
        recipient_id=str(session().principal.user_id),
        unread="true" if unread else None,
        cursor=request.args.get("cursor"),
        limit=50,
    )
    return await page(
        "console/inbox.html",
        title="Notifications",
        notifications=listing["items"],
        next_cursor=listing.get("next_cursor"),
        unread=unread,
    )


@blueprint.post("/inbox/<notification_id>/read")
@hide
async def mark_read(notification_id: str) -> Response:
    """Mark one notification read (HTML form)."""
    await api().post(f"{BASE}/{notification_id}/read")
    return redirect("/console/inbox", 303)


@blueprint.post("/inbox/read-all")
@hide
async def mark_all_read() -> Response:
    """Mark every notification read (HTML form)."""
    await api().post(f"{BASE}/read-all")
    return redirect("/console/inbox?done=all-read", 303)
