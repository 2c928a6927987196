from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator

from quart import Blueprint, Response, make_response, request
from quart_schema import document_response, validate_querystring, validate_request, validate_response

from vetrai.core.auth import Principal, current_principal, require_scope, still_valid
from vetrai.core.errors import ProblemError, forbidden
from vetrai.core.pagination import PageQuery, paginate
from vetrai.core.permissions import ORG_ADMIN
from vetrai.plugins.notifications import service
from vetrai.plugins.notifications.schemas import (
    NotificationsChannelList,
    NotificationsListQuery,
    NotificationsOut,
    NotificationsPage,
    NotificationsPreferences,
    NotificationsPreferencesUpdate,
    NotificationsQueued,
    NotificationsSend,
    NotificationsStreamEvent,
    NotificationsTemplateCreate,
    NotificationsTemplateListQuery,
    NotificationsTemplateOut,
    NotificationsTemplatePage,
    NotificationsTemplateUpdate,
)

blueprint = Blueprint("notifications", __name__)
READ = "notifications:read"
STREAM_CHECK_SECONDS = 1.0
WRITE = "notifications:write"


async def _admin() -> Principal:
    principal = await current_principal()
    if not principal.has_role(ORG_ADMIN):
        raise forbidden("only organization admins may do this")
    return principal


@blueprint.post("")
@require_scope(WRITE)
@validate_request(NotificationsSend)
@validate_response(NotificationsQueued, 202)
async def send_notification(data: NotificationsSend) -> tuple[dict, int]:
    """Queue a notification to a user or address (org admins); delivered in the background."""
    principal = await _admin()
    row, _created = await service.send_notification(principal, data.model_dump())
    return {"id": row.id, "status": row.status}, 202


@blueprint.get("")
@require_scope(READ)
@validate_querystring(NotificationsListQuery)
@validate_response(NotificationsPage)
async def list_notifications(query_args: NotificationsListQuery) -> dict:
    """Your notifications, newest first (admins: the organization's); filter by status, channel, unread."""
    principal = await current_principal()
    filters: dict = {}
    if query_args.status:
        filters["status"] = query_args.status
    if query_args.channel:
        filters["channel"] = query_args.channel
    if query_args.unread is not None:
        filters["read_at__isnull"] = query_args.unread
    if query_args.recipient_id is not None:
        filters["user_id"] = query_args.recipient_id
    page = PageQuery(limit=query_args.limit, cursor=query_args.cursor)
    return await paginate(service.visible_notifications(principal, **filters), page, NotificationsOut)


@blueprint.get("/channels")
@require_scope(READ)
@validate_response(NotificationsChannelList)
async def list_channels() -> dict:
    """The delivery channels this server has (built in and from plugins)."""
    channels = service.runtime().channels
    return {"items": [{"name": name, "description": channel.description} for name, channel in sorted(channels.items())]}


@blueprint.get("/stream")
@require_scope(READ)
@document_response(NotificationsStreamEvent, 200)
async def stream_notifications() -> Response:
    """Server-Sent Events: your new in-app notifications, live, on any server process.

    A reconnect with ``Last-Event-ID`` first replays the in-app notifications delivered since
    that one (at most 100). The stream ends with ``event: revoked`` within seconds of the user
    or organization being deactivated, the token logged out or the API key revoked.
    """
    principal = await current_principal()
    if principal.user_id is None:
        raise forbidden("only users have an inbox")
    rt = service.runtime()
    user_id = str(principal.user_id)
    try:
        await asyncio.wait_for(rt.hub.ready.wait(), timeout=5)
    except TimeoutError:
        raise ProblemError(503, "the live notification stream is not available right now") from None
    keepalive = rt.settings.stream_keepalive_seconds

    last_event_id = request.headers.get("Last-Event-ID")

    def frame(item: dict) -> bytes:
        payload = json.dumps(item, default=str, separators=(",", ":"))
        return f"id: {item.get('id')}\nevent: notification\ndata: {payload}\n\n".encode()

    async def events() -> AsyncIterator[bytes]:
        async with rt.hub.subscribe(user_id) as queue:
            yield b": connected\n\nretry: 3000\n\n"
            replayed: set[str] = set()
            if last_event_id:
                # A reconnecting EventSource: what was delivered since its last event first.
                for row in await service.in_app_since(principal, last_event_id):
                    item = NotificationsOut.model_validate(row).model_dump()
                    replayed.add(str(item["id"]))
                    yield frame(item)
            quiet_since = time.monotonic()
            while True:
                # The credential was checked at connect; it is re-checked every second or so, so
                # a deactivated user, a logged-out token or a revoked key stops receiving.
                if not await still_valid(principal):
                    yield b"event: revoked\ndata: {}\n\n"
                    return
                try:
                    item = await asyncio.wait_for(queue.get(), timeout=min(keepalive, STREAM_CHECK_SECONDS))
                except TimeoutError:
                    if time.monotonic() - quiet_since >= keepalive:
                        quiet_since = time.monotonic()
                        yield b": keepalive\n\n"
                    continue
                if str(item.get("id")) in replayed:
                    continue
                quiet_since = time.monotonic()
                yield frame(item)

    response = await make_response(
        events(), 200, {"Content-Type": "text/event-stream", "Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    )
    response.timeout = None
    return response


@blueprint.post("/read-all")
@require_scope(WRITE)
async def read_all() -> tuple[str, int]:
    """Mark every notification of yours read."""
    await service.mark_all_read(await current_principal())
    return "", 204


@blueprint.get("/preferences")
@require_scope(READ)
@validate_response(NotificationsPreferences)
async def get_preferences() -> dict:
    """Your opt-outs per category and channel (security messages are always sent)."""
    return await service.get_preferences(await current_principal())


@blueprint.put("/preferences")
@require_scope(WRITE)
@validate_request(NotificationsPreferencesUpdate)
@validate_response(NotificationsPreferences)
async def put_preferences(data: NotificationsPreferencesUpdate) -> dict:
    """Replace your opt-outs; "*" matches every category or channel."""
    rules = [rule.model_dump() for rule in data.opt_outs]
    return await service.set_preferences(await current_principal(), rules)


@blueprint.get("/templates")
@require_scope(READ)
@validate_querystring(NotificationsTemplateListQuery)
@validate_response(NotificationsTemplatePage)
async def list_templates(query_args: NotificationsTemplateListQuery) -> dict:
    """Your organization's templates and the global defaults (admins)."""
    principal = await _admin()
    filters = {name: value for name in ("name", "channel") if (value := getattr(query_args, name))}
    page = PageQuery(limit=query_args.limit, cursor=query_args.cursor)
    return await paginate(service.visible_templates(principal, **filters), page, NotificationsTemplateOut)


@blueprint.post("/templates")
@require_scope(WRITE)
@validate_request(NotificationsTemplateCreate)
@validate_response(NotificationsTemplateOut, 201)
async def create_template(data: NotificationsTemplateCreate) -> tuple[NotificationsTemplateOut, int]:
    """Create a template (422 if it does not compile or uses forbidden constructs)."""
    principal = await _admin()
    return NotificationsTemplateOut.model_validate(await service.create_template(principal, data.model_dump())), 201


@blueprint.get("/templates/<template_id>")
@require_scope(READ)
@validate_response(NotificationsTemplateOut)
async def get_template(template_id: str) -> NotificationsTemplateOut:
    """Read a template of your organization or a global default (admins)."""
    return NotificationsTemplateOut.model_validate(await service.get_template(await _admin(), template_id))


@blueprint.put("/templates/<template_id>")
@require_scope(WRITE)
@validate_request(NotificationsTemplateUpdate)
@validate_response(NotificationsTemplateOut)
async def update_template(template_id: str, data: NotificationsTemplateUpdate) -> NotificationsTemplateOut:
    """Change a template (partial); global defaults only by super_admin (403 otherwise)."""
    changes = {name: getattr(data, name) for name in data.model_fields_set}
    return NotificationsTemplateOut.model_validate(await service.update_template(await _admin(), template_id, changes))


@blueprint.delete("/templates/<template_id>")
@require_scope(WRITE)
async def delete_template(template_id: str) -> tuple[str, int]:
    """Delete a template of your organization; the global default applies again."""
    await service.delete_template(await _admin(), template_id)
    return "", 204


@blueprint.get("/<notification_id>")
@require_scope(READ)
@validate_response(NotificationsOut)
async def get_notification(notification_id: str) -> NotificationsOut:
    """One notification with its delivery status, attempts and error."""
    return NotificationsOut.model_validate(await service.get_notification(await current_principal(), notification_id))


@blueprint.post("/<notification_id>/read")
@require_scope(WRITE)
async def read_notification(notification_id: str) -> tuple[str, int]:
    """Mark one of your notifications read."""
    await service.mark_read(await current_principal(), notification_id)
    return "", 204
