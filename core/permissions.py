"""Roles and the permission registry fed by every plugin's ``vetrai_permissions`` hook."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from vetrai.core.hooks import ADMIN_ROLES as ADMIN_ROLES
from vetrai.core.hooks import BILLING_ADMIN as BILLING_ADMIN
from vetrai.core.hooks import ORG_ADMIN as ORG_ADMIN
from vetrai.core.hooks import ROLES as ROLES
from vetrai.core.hooks import SUPER_ADMIN as SUPER_ADMIN
from vetrai.core.hooks import SUPPORT_AGENT as SUPPORT_AGENT
from vetrai.core.hooks import USER as USER
from vetrai.core.hooks import Permission

CORE_PERMISSIONS = (
    Permission("organizations:read", "Read your organization", roles=ROLES),
    Permission("organizations:write", "Change your organization", roles=(ORG_ADMIN,)),
)


@dataclass
class PermissionRegistry:
    """Which scopes exist, and which a role holds; super_admin holds every scope."""

    permissions: dict[str, Permission] = field(default_factory=dict)
    owners: dict[str, str] = field(default_factory=dict)

    def add(self, plugin: str, permission: Permission) -> None:
        from vetrai.core.errors import PluginError

        if permission.name in self.permissions:
            raise PluginError(
                plugin, f"permission {permission.name!r} is already defined by {self.owners[permission.name]!r}"
            )
        unknown = set(permission.roles) - set(ROLES)
        if unknown:
            raise PluginError(plugin, f"permission {permission.name!r} names unknown roles {sorted(unknown)}")
        self.permissions[permission.name] = permission
        self.owners[permission.name] = plugin

    def scopes_for_role(self, role: str) -> frozenset[str]:
        if role == SUPER_ADMIN:
            return frozenset(self.permissions)
        return frozenset(name for name, perm in self.permissions.items() if role in perm.roles)

    def known(self, scopes: Iterable[str]) -> list[str]:
        """The scopes in ``scopes`` that no enabled plugin defines."""
        return [scope for scope in scopes if scope not in self.permissions]
