"""API keys in the console: list, create (shown once), rotate, revoke, and a key's usage."""

from __future__ import annotations

from typing import Any

from quart import Response, redirect, request
from quart_schema import hide

from vetrai.plugins.console.api import ApiError
from vetrai.plugins.console.charts import usage_chart
from vetrai.plugins.console.routes import api, blueprint, page, session


async def _keys_page(status: int = 200, **extra: Any) -> Response:
    listing = await api().get("/api/v1/keys", limit=200)
    scopes = await api().get("/api/v1/keys/scopes")
    held = session().principal.scopes
    return await page(
        "console/keys.html",
        status,
        title="API keys",
        keys=listing["items"],
        scopes=[scope for scope in scopes["items"] if scope["scope"] in held],
        **extra,
    )


@blueprint.get("/keys")
@hide
async def keys() -> Response:
    """The organization's API keys (HTML)."""
    return await _keys_page()


@blueprint.post("/keys")
@hide
async def create_key() -> Response:
    """Create a key; the secret is shown on this response only (HTML form)."""
    form = await request.form
    body: dict[str, Any] = {"name": (form.get("name") or "").strip(), "scopes": form.getlist("scopes")}
    requests_limit, window = (form.get("rate_requests") or "").strip(), (form.get("rate_window") or "").strip()
    if requests_limit or window:
        if not (requests_limit.isdigit() and window.isdigit()):
            return await _keys_page(
                422, error="The rate limit needs two whole numbers: requests and seconds.", form=body
            )
        body["rate_limit"] = {"requests": int(requests_limit), "window_seconds": int(window)}
    try:
        created = await api().post("/api/v1/keys", body)
    except ApiError as exc:
        if exc.status in (403, 409, 422):
            return await _keys_page(exc.status, error=exc.message, form=body)
        raise
    return await _keys_page(201, created=created)


@blueprint.get("/keys/<key_id>")
@hide
async def key_usage(key_id: str) -> Response:
    """One key: its scopes and its requests per day over the last 30 days (HTML)."""
    key = await api().get(f"/api/v1/keys/{key_id}")
    usage = await api().get(f"/api/v1/keys/{key_id}/usage")
    return await page("console/key.html", title=f"Key {key['name']}", key=key, usage=usage, chart=usage_chart(usage))


@blueprint.post("/keys/<key_id>/rotate")
@hide
async def rotate_key(key_id: str) -> Response:
    """Issue a replacement key (shown once); the old one keeps working for the API's grace period (HTML form)."""
    created = await api().post(f"/api/v1/keys/{key_id}/rotate")
    return await _keys_page(201, created=created, rotated=True)


@blueprint.post("/keys/<key_id>/revoke")
@hide
async def revoke_key(key_id: str) -> Response:
    """Revoke a key at once (HTML form)."""
    await api().delete(f"/api/v1/keys/{key_id}")
    return redirect("/console/keys?done=revoked", 303)
