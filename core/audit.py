"""The audit trail every plugin writes through (the auth plugin serves ``/audit-logs``)."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from quart import has_request_context, request

from vetrai.core.auth import Principal
from vetrai.core.models import AuditLog

log = logging.getLogger("vetrai.audit")


async def record_audit(
    action: str,
    *,
    principal: Principal | None = None,
    organization_id: uuid.UUID | None = None,
    actor_id: uuid.UUID | None = None,
    target_type: str | None = None,
    target_id: Any = None,
    data: dict[str, Any] | None = None,
) -> AuditLog:
    """Append one audit entry; request IP and user agent are taken when in a request."""
    from vetrai.core.auth import client_ip

    ip = user_agent = None
    if has_request_context():
        ip = client_ip()
        user_agent = (request.headers.get("User-Agent") or "")[:300] or None
    entry = await AuditLog.create(
        action=action,
        organization_id=organization_id or (principal.organization_id if principal else None),
        actor_id=actor_id or (principal.user_id if principal else None),
        actor_kind=principal.kind if principal else "system",
        target_type=target_type,
        target_id=str(target_id) if target_id is not None else None,
        ip=ip,
        user_agent=user_agent,
        data=data or {},
    )
    log.info("audit %s", action, extra={"action": action, "target_id": entry.target_id})
    return entry
