"""The ticket workflow: statuses, the transitions agents may make, who counts as an agent; settings and clock."""

from __future__ import annotations

from datetime import UTC, datetime

from vetrai.core.auth import Principal
from vetrai.core.permissions import ORG_ADMIN, SUPPORT_AGENT
from vetrai.core.platform import Platform, current_platform
from vetrai.plugins.support.settings import SupportSettings

OPEN, IN_PROGRESS, PENDING, RESOLVED, CLOSED = "open", "in_progress", "pending", "resolved", "closed"


STATUSES = (OPEN, IN_PROGRESS, PENDING, RESOLVED, CLOSED)


TRANSITIONS: dict[str, frozenset[str]] = {
    OPEN: frozenset({IN_PROGRESS}),
    IN_PROGRESS: frozenset({PENDING, RESOLVED}),
    PENDING: frozenset({IN_PROGRESS, RESOLVED}),
    RESOLVED: frozenset({IN_PROGRESS, CLOSED}),
    CLOSED: frozenset(),
}
"""Agents' transitions; a requester may only close its own ticket (from any status but closed)."""


CLOCK_RUNNING = (OPEN, IN_PROGRESS)


AGENT_ROLES = (SUPPORT_AGENT, ORG_ADMIN)


def settings(platform: Platform | None = None) -> SupportSettings:
    return (platform or current_platform()).plugin_settings("support", SupportSettings)


def now() -> datetime:
    return datetime.now(UTC)


def is_agent(principal: Principal) -> bool:
    """support_agent and org_admin work on the organization's tickets (super_admin on all)."""
    return principal.has_role(*AGENT_ROLES)
