"""Managing the users of an organization, with the role rules enforced in one place.

An org_admin manages its own organization only (others' users are 404 through ``scoped``),
may grant every role except super_admin, and may not touch a super_admin. Nobody can demote,
deactivate, move or delete the last active org_admin of an organization.
"""

from __future__ import annotations

import uuid
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.queryset import QuerySet

from vetrai.core.audit import record_audit
from vetrai.core.auth import Principal
from vetrai.core.errors import conflict, forbidden, not_found
from vetrai.core.models import Organization
from vetrai.core.permissions import ORG_ADMIN, SUPER_ADMIN
from vetrai.core.tenancy import ensure_quota, get_scoped, scoped
from vetrai.plugins.auth.models import User
from vetrai.plugins.auth.recovery import send_verification
from vetrai.plugins.auth.service import create_user, revoke_user_sessions


def _check_grant(principal: Principal, role: str) -> None:
    if role == SUPER_ADMIN and not principal.is_super_admin:
        raise forbidden("only a super_admin may grant the super_admin role")


def _check_target(principal: Principal, user: User) -> None:
    if user.role == SUPER_ADMIN and not principal.is_super_admin:
        raise forbidden("only a super_admin may change a super_admin")


async def _keep_an_admin(user: User) -> None:
    """409 when ``user`` is the last active org_admin of its organization."""
    if user.role != ORG_ADMIN or not user.is_active:
        return
    others = (
        await User.filter(organization_id=user.organization_id, role=ORG_ADMIN, is_active=True)
        .exclude(id=user.id)
        .count()
    )
    if others == 0:
        raise conflict("an organization must keep at least one active org_admin")


async def _organization_for(principal: Principal, organization_id: uuid.UUID | None) -> Organization:
    """The target organization: one's own, or any for a super_admin (another's is a 404)."""
    target = organization_id or principal.organization_id
    if target != principal.organization_id and not principal.is_super_admin:
        raise not_found("organization")
    organization = await Organization.get_or_none(id=target)
    if organization is None:
        raise not_found("organization")
    return organization


def list_users(
    principal: Principal,
    *,
    organization_id: uuid.UUID | None = None,
    role: str | None = None,
    is_active: bool | None = None,
    email: str | None = None,
) -> QuerySet[User]:
    filters: dict[str, Any] = {}
    if organization_id is not None:
        filters["organization_id"] = organization_id
    if role is not None:
        filters["role"] = role
    if is_active is not None:
        filters["is_active"] = is_active
    if email:
        filters["email__icontains"] = email.strip().lower()
    return scoped(User, principal, **filters)


async def get_user(principal: Principal, user_id: uuid.UUID | str) -> User:
    return await get_scoped(User, principal, user_id)


async def add_user(principal: Principal, data: dict[str, Any]) -> User:
    organization = await _organization_for(principal, data.get("organization_id"))
    role = data.get("role") or "user"
    _check_grant(principal, role)
    await ensure_quota(organization, "max_users", await User.filter(organization_id=organization.id).count())
    user = await create_user(
        organization,
        data["email"],
        data["password"],
        role=role,
        first_name=data.get("first_name") or "",
        last_name=data.get("last_name") or "",
        email_verified=bool(data.get("email_verified")),
    )
    if not user.email_verified:
        await send_verification(user)
    await record_audit(
        "auth.user_created",
        principal=principal,
        organization_id=organization.id,
        target_type="user",
        target_id=user.id,
        data={"role": role},
    )
    return user


async def update_user(principal: Principal, user_id: uuid.UUID | str, changes: dict[str, Any]) -> User:
    user = await get_scoped(User, principal, user_id)
    _check_target(principal, user)
    old_role, old_organization = user.role, user.organization_id
    new_role = changes.get("role", user.role)
    moving = changes.get("organization_id") not in (None, user.organization_id)
    deactivating = changes.get("is_active") is False and user.is_active
    if "organization_id" in changes and moving and not principal.is_super_admin:
        raise forbidden("only a super_admin may move a user to another organization")
    if new_role != old_role:
        _check_grant(principal, new_role)
    if new_role != old_role or deactivating or moving:
        await _keep_an_admin(user)
    if moving:
        target = await _organization_for(principal, changes["organization_id"])
        await ensure_quota(target, "max_users", await User.filter(organization_id=target.id).count())
    for field in ("first_name", "last_name", "role", "is_active", "email_verified", "organization_id"):
        if field in changes and changes[field] is not None:
            setattr(user, field, changes[field])
    await user.save()
    if new_role != old_role:
        await record_audit(
            "auth.role_changed",
            principal=principal,
            organization_id=user.organization_id,
            target_type="user",
            target_id=user.id,
            data={"old": old_role, "new": new_role},
        )
    if deactivating or moving:
        await revoke_user_sessions(user.id, "deactivated" if deactivating else "moved")
    await record_audit(
        "auth.user_updated",
        principal=principal,
        organization_id=old_organization,
        target_type="user",
        target_id=user.id,
        data={"fields": sorted(changes)},
    )
    return user


async def delete_user(principal: Principal, user_id: uuid.UUID | str) -> None:
    user = await get_scoped(User, principal, user_id)
    _check_target(principal, user)
    await _keep_an_admin(user)
    try:
        await user.delete()
    except IntegrityError:
        raise conflict("the user still owns records; deactivate the user instead") from None
    await record_audit(
        "auth.user_deleted",
        principal=principal,
        organization_id=user.organization_id,
        target_type="user",
        target_id=user.id,
        data={"email": user.email, "role": user.role},
    )
