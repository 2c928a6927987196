"""Admission of model workflows on ``POST /api/v1/workers/jobs``, before the engine queues them.

A workflow spec that calls models carries ``admit(organization_id, input)``; a job of it is
refused with 422 when the organization has no provider, 403 ``quota-exceeded`` when its tokens
are used up. The engine validates input with the spec's pydantic model, which cannot query the
database, so this request hook runs ``admit`` ahead of the engine's route. When the engine
calls ``spec.admit`` itself, this module and its registration in routes.py go away.
"""

from __future__ import annotations

import uuid
from typing import Any

from quart import request

from vetrai.core.auth import authenticate_request
from vetrai.core.platform import current_platform

JOBS_PATH = "/api/v1/workers/jobs"


async def _workflow_of(organization_id: uuid.UUID, body: dict[str, Any]) -> str | None:
    from vetrai.engine.models import WorkflowTemplate

    template_id, name = body.get("template_id"), body.get("template")
    row = None
    if template_id:
        try:
            key = uuid.UUID(str(template_id))
        except ValueError:
            return None
        row = await WorkflowTemplate.get_or_none(id=key)
        if row is not None and row.organization_id not in (None, organization_id):  # type: ignore[attr-defined]
            return None
    elif isinstance(name, str):
        row = await WorkflowTemplate.get_or_none(organization_id=organization_id, name=name)
        if row is None:
            row = await WorkflowTemplate.get_or_none(package_key=name)
    return row.workflow if row is not None else None


async def admit_job_request() -> None:
    """Runs before every request; acts only on job submissions of workflows with ``admit``."""
    if request.method != "POST" or request.path.rstrip("/") != JOBS_PATH:
        return
    if "workers" not in current_platform().plugins.order:
        return
    body = await request.get_json(force=True, silent=True)
    if not isinstance(body, dict):
        return
    principal = await authenticate_request()
    if principal is None or principal.organization_id is None or not principal.can("workers:write"):
        return
    workflow = await _workflow_of(principal.organization_id, body)
    if workflow is None:
        return
    from vetrai.engine.spec import get_workflow

    admit = getattr(get_workflow(workflow), "admit", None)
    if admit is not None:
        await admit(principal.organization_id, body.get("input") or {})
