"""The periodic SLA check, registered as the taskiq task ``support.check_sla``."""

from __future__ import annotations

from vetrai.plugins.support import service


async def check_sla() -> int:
    """Mark tickets whose SLA clock passed a due time; returns how many breaches were recorded."""
    return await service.check_sla_breaches()
