from __future__ import annotations

from collections.abc import AsyncIterator

from quart import Blueprint, Response, redirect, request
from quart_schema import (
    DataSource,
    document_request,
    document_response,
    validate_querystring,
    validate_request,
    validate_response,
)

from vetrai.core.auth import current_principal, require_role, require_scope
from vetrai.core.errors import not_found
from vetrai.core.pagination import PageQuery, paginate
from vetrai.core.permissions import ORG_ADMIN
from vetrai.core.platform import current_platform
from vetrai.core.requests import file_upload
from vetrai.plugins.support import files, service
from vetrai.plugins.support.schemas import (
    SupportAttachmentContent,
    SupportAttachmentOut,
    SupportAttachmentPage,
    SupportAttachmentUpload,
    SupportCommentCreate,
    SupportCommentOut,
    SupportCommentPage,
    SupportPageQuery,
    SupportSlaPolicyOut,
    SupportSlaPolicyUpdate,
    SupportTicketCreate,
    SupportTicketListQuery,
    SupportTicketOut,
    SupportTicketPage,
    SupportTicketUpdate,
)

blueprint = Blueprint("support", __name__)
MULTIPART_OVERHEAD = 64 * 1024
"""Bytes of multipart framing allowed beyond the attachment limit before a request is refused unread."""


def _page(query: SupportPageQuery | SupportTicketListQuery) -> PageQuery:
    return PageQuery(limit=query.limit, cursor=query.cursor)


async def _ticket_out(ticket: service.Ticket) -> SupportTicketOut:
    return SupportTicketOut.model_validate(await service.with_people(ticket))


@blueprint.post("/tickets")
@require_scope("support:write")
@validate_request(SupportTicketCreate)
@validate_response(SupportTicketOut, 201)
async def create_ticket(data: SupportTicketCreate) -> tuple[SupportTicketOut, int]:
    """Open a ticket (status ``open``) for yourself; the SLA due times come from the priority."""
    principal = await current_principal()
    ticket = await service.create_ticket(principal, data.subject, data.description, data.priority, data.category)
    return await _ticket_out(ticket), 201


@blueprint.get("/tickets")
@require_scope("support:read")
@validate_querystring(SupportTicketListQuery)
@validate_response(SupportTicketPage)
async def list_tickets(query_args: SupportTicketListQuery) -> dict:
    """Tickets newest first: agents and admins see the organization's, everyone else their own."""
    principal = await current_principal()
    filters = query_args.model_dump(exclude={"limit", "cursor"})
    queryset = service.search_tickets(principal, filters).prefetch_related("requester", "assignee")
    return await paginate(queryset, _page(query_args), SupportTicketOut)


@blueprint.get("/tickets/<ticket_id>")
@require_scope("support:read")
@validate_response(SupportTicketOut)
async def get_ticket(ticket_id: str) -> SupportTicketOut:
    """One ticket with its SLA clock."""
    return await _ticket_out(await service.get_ticket(await current_principal(), ticket_id))


@blueprint.put("/tickets/<ticket_id>")
@require_scope("support:write")
@validate_request(SupportTicketUpdate)
@validate_response(SupportTicketOut)
async def update_ticket(ticket_id: str, data: SupportTicketUpdate) -> SupportTicketOut:
    """Partial update: requesters edit an open ticket or close it; agents change status,
    priority and assignee (an invalid transition is 409)."""
    changes = {name: getattr(data, name) for name in data.model_fields_set}
    ticket = await service.update_ticket(await current_principal(), ticket_id, changes)
    return await _ticket_out(ticket)


@blueprint.post("/tickets/<ticket_id>/comments")
@require_scope("support:write")
@validate_request(SupportCommentCreate)
@validate_response(SupportCommentOut, 201)
async def add_comment(ticket_id: str, data: SupportCommentCreate) -> tuple[SupportCommentOut, int]:
    """Reply on a ticket; ``internal`` notes are for agents and admins only."""
    comment = await service.add_comment(await current_principal(), ticket_id, data.body, data.internal)
    await comment.fetch_related("author")
    return SupportCommentOut.model_validate(comment), 201


@blueprint.get("/tickets/<ticket_id>/comments")
@require_scope("support:read")
@validate_querystring(SupportPageQuery)
@validate_response(SupportCommentPage)
async def list_comments(ticket_id: str, query_args: SupportPageQuery) -> dict:
    """A ticket's comments, newest first; requesters never see internal notes."""
    principal = await current_principal()
    ticket = await service.get_ticket(principal, ticket_id)
    return await paginate(service.visible_comments(principal, ticket), _page(query_args), SupportCommentOut)


@blueprint.post("/tickets/<ticket_id>/attachments")
@require_scope("support:write")
@document_request(SupportAttachmentUpload, source=DataSource.FORM_MULTIPART)
@validate_response(SupportAttachmentOut, 201)
async def add_attachment(ticket_id: str) -> tuple[SupportAttachmentOut, int]:
    """Upload a file (multipart field ``file``), streamed to storage: 413 over the size limit,
    415 for a type outside the allow-list (sniffed from the bytes), 403 past the storage quota."""
    principal = await current_principal()
    await service.get_ticket(principal, ticket_id)
    limit = service.settings().max_attachment_bytes
    if request.content_length is not None and request.content_length > limit + MULTIPART_OVERHEAD:
        raise service.too_large(limit)
    part = await file_upload()
    attachment = await service.add_attachment(principal, ticket_id, part.filename, part.chunks)
    return SupportAttachmentOut.model_validate(attachment), 201


@blueprint.get("/tickets/<ticket_id>/attachments")
@require_scope("support:read")
@validate_querystring(SupportPageQuery)
@validate_response(SupportAttachmentPage)
async def list_attachments(ticket_id: str, query_args: SupportPageQuery) -> dict:
    """A ticket's attachments, newest first."""
    principal = await current_principal()
    ticket = await service.get_ticket(principal, ticket_id)
    return await paginate(service.visible_attachments(principal, ticket), _page(query_args), SupportAttachmentOut)


@blueprint.get("/tickets/<ticket_id>/attachments/<attachment_id>")
@require_scope("support:read")
@document_response(SupportAttachmentContent, 200)
async def download_attachment(ticket_id: str, attachment_id: str) -> Response:
    """Download: the bytes as ``Content-Disposition: attachment`` with ``nosniff``, or on S3 a
    redirect to a presigned URL that expires after ``VETRAI_SUPPORT_PRESIGNED_URL_TTL_SECONDS``."""
    attachment = await service.get_attachment(await current_principal(), ticket_id, attachment_id)
    platform = current_platform()
    config = service.settings(platform)
    if config.presigned_downloads:
        url = await platform.storage.presigned_url(
            attachment.storage_key, config.presigned_url_ttl_seconds, attachment.filename
        )
        if url:
            response = redirect(url, 302)
            response.headers["Cache-Control"] = "no-store"
            return response
    chunks = platform.storage.open(attachment.storage_key).__aiter__()
    try:
        first = await chunks.__anext__()
    except FileNotFoundError:
        raise not_found("attachment") from None
    except StopAsyncIteration:
        first = b""

    async def body() -> AsyncIterator[bytes]:
        if first:
            yield first
        async for chunk in chunks:
            yield chunk

    response = Response(body(), status=200, content_type=attachment.content_type)
    response.headers["Content-Disposition"] = files.content_disposition(attachment.filename)
    response.headers["Content-Length"] = str(attachment.size)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, no-store"
    return response


@blueprint.get("/sla-policies")
@require_scope("support:read")
@validate_response(SupportSlaPolicyOut)
async def get_sla_policy() -> SupportSlaPolicyOut:
    """Your organization's SLA targets per priority (minutes) and business hours."""
    return await service.get_policy(await current_principal())


@blueprint.put("/sla-policies")
@require_role(ORG_ADMIN)
@require_scope("support:write")
@validate_request(SupportSlaPolicyUpdate)
@validate_response(SupportSlaPolicyOut)
async def update_sla_policy(data: SupportSlaPolicyUpdate) -> SupportSlaPolicyOut:
    """Change the targets (org_admin); applies to tickets opened or re-prioritized afterwards."""
    changes = {}
    if data.targets is not None:
        changes["targets"] = data.targets.model_dump(exclude_none=True)
    if "business_hours" in data.model_fields_set:
        changes["business_hours"] = data.business_hours.model_dump() if data.business_hours else None
    return await service.update_policy(await current_principal(), changes)
