"""Ticket attachments: streamed to storage, type sniffed from the bytes, within the storage quota."""

from __future__ import annotations

import contextlib
import hashlib
import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any

from tortoise.functions import Sum
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from vetrai.core.audit import record_audit
from vetrai.core.auth import Principal
from vetrai.core.errors import ProblemError, conflict, not_found
from vetrai.core.models import Organization
from vetrai.core.platform import current_platform
from vetrai.core.tenancy import ensure_quota, ensure_storage, get_scoped, limits_of, scoped
from vetrai.plugins.support import files
from vetrai.plugins.support.models import Ticket, TicketAttachment
from vetrai.plugins.support.tickets import get_ticket
from vetrai.plugins.support.workflow import CLOSED, settings


def visible_attachments(principal: Principal, ticket: Ticket) -> QuerySet[TicketAttachment]:
    return scoped(TicketAttachment, principal, ticket_id=ticket.id)


async def get_attachment(
    principal: Principal, ticket_id: uuid.UUID | str, attachment_id: uuid.UUID | str
) -> TicketAttachment:
    ticket = await get_ticket(principal, ticket_id)
    try:
        return await get_scoped(TicketAttachment, principal, attachment_id, ticket_id=ticket.id)
    except ProblemError:
        raise not_found("attachment") from None


async def attachment_bytes(organization_id: uuid.UUID) -> int:
    """Bytes of attachments the organization stores: support's part of ``max_storage_bytes``
    (``vetrai_storage_used``; the quota counts every plugin's part)."""
    rows = await TicketAttachment.filter(organization_id=organization_id).annotate(total=Sum("size")).values("total")
    return int(rows[0]["total"] or 0) if rows else 0


def too_large(limit: int) -> ProblemError:
    return ProblemError(413, f"the attachment is larger than {limit} bytes", kind="payload-too-large", max_bytes=limit)


async def _quota_problem(organization: Organization, used: int, adding: int) -> ProblemError:
    try:
        await ensure_quota(organization, "max_storage_bytes", used, adding)
    except ProblemError as problem:
        return problem
    raise AssertionError("quota is not exceeded")  # pragma: no cover


async def add_attachment(
    principal: Principal,
    ticket_id: uuid.UUID | str,
    filename: str | None,
    chunks: AsyncIterator[bytes],
) -> TicketAttachment:
    """Stream an upload to storage: type sniffed from the bytes and checked against the
    allow-list (415), size limit (413) and the organization's storage quota (403) enforced
    while streaming, SHA-256 computed on the way; nothing is held in memory but one chunk."""
    ticket = await get_ticket(principal, ticket_id)
    if ticket.status == CLOSED:
        raise conflict("the ticket is closed; closed is final")
    platform = current_platform()
    config = settings(platform)
    organization = await Organization.get(id=ticket.organization_id)
    used = await ensure_storage(platform, organization)
    content_type, stream = await _sniffed(chunks, config.max_attachment_bytes, config.allowed_content_types)
    digest = hashlib.sha256()
    counted = _counted(stream, config.max_attachment_bytes, organization, used, digest)
    attachment_id = uuid.uuid4()
    key = f"org/{ticket.organization_id}/support/tickets/{ticket.id}/{attachment_id}"
    size = await platform.storage.put(key, counted, content_type)
    try:
        attachment = await _create_row(
            principal,
            ticket,
            id=attachment_id,
            filename=files.sanitize_filename(filename),
            content_type=content_type,
            size=size,
            sha256=digest.hexdigest(),
            storage_key=key,
        )
    except BaseException:
        with contextlib.suppress(Exception):
            await platform.storage.delete(key)
        raise
    await record_audit(
        "support.attachment_added",
        principal=principal,
        organization_id=ticket.organization_id,
        target_type="support_ticket",
        target_id=ticket.id,
        data={
            "attachment_id": str(attachment.id),
            "filename": attachment.filename,
            "size": size,
            "content_type": content_type,
        },
    )
    return attachment


async def _sniffed(
    chunks: AsyncIterator[bytes], limit: int, allowed: Sequence[str]
) -> tuple[str, AsyncIterator[bytes]]:
    """The upload's type, read from its first bytes (415 unless allowed), and the whole upload
    again as a stream, those first bytes included."""
    iterator = chunks.__aiter__()
    head = bytearray()
    finished = False
    while len(head) < files.SNIFF_BYTES:
        try:
            head += await iterator.__anext__()
        except StopAsyncIteration:
            finished = True
            break
        if len(head) > limit:
            raise too_large(limit)
    content_type = files.sniff_content_type(bytes(head[: files.SNIFF_BYTES]))
    if content_type not in allowed:
        raise ProblemError(
            415,
            f"files of type {content_type} are not accepted",
            kind="unsupported-media-type",
            content_type=content_type,
            allowed=list(allowed),
        )

    async def stream() -> AsyncIterator[bytes]:
        yield bytes(head)
        if not finished:
            async for chunk in iterator:
                yield chunk

    return content_type, stream()


async def _counted(
    stream: AsyncIterator[bytes], limit: int, organization: Organization, used: int, digest: Any
) -> AsyncIterator[bytes]:
    """``stream``, stopped with a 413 past ``limit`` or a 403 past the storage quota, hashed on the way."""
    quota = limits_of(organization)["max_storage_bytes"]
    size = 0
    async for chunk in stream:
        if not chunk:
            continue
        size += len(chunk)
        if size > limit:
            raise too_large(limit)
        if used + size > quota:
            raise await _quota_problem(organization, used, size)
        digest.update(chunk)
        yield chunk


async def _create_row(principal: Principal, ticket: Ticket, **fields: Any) -> TicketAttachment:
    """The row, after the quota is checked again under a lock (parallel uploads of one
    organization each passed the streaming check on their own)."""
    async with in_transaction():
        locked = await Organization.filter(id=ticket.organization_id).select_for_update().get()
        await ensure_storage(current_platform(), locked, fields["size"])
        return await TicketAttachment.create(
            organization_id=ticket.organization_id,
            ticket_id=ticket.id,
            uploaded_by_id=principal.user_id,
            **fields,
        )
