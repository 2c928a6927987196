"""Notifications logic without HTTP: sending, the inbox, templates and preferences.

Routes and the event listeners call these functions; the delivery itself is the core outbox's
``notifications.deliver`` kind (``delivery.py``). A row is the single source of truth: it is
written ``queued`` in the same transaction as its outbox message, and delivery only moves it
forward.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from pydantic import EmailStr, TypeAdapter, ValidationError
from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.queryset import QuerySet

from vetrai.core import outbox
from vetrai.core.auth import Principal
from vetrai.core.errors import (
    PluginError,
    conflict,
    field_error,
    forbidden,
    not_found,
    quota_exceeded,
    unprocessable,
)
from vetrai.core.hooks import NotificationChannel
from vetrai.core.models import Organization
from vetrai.core.platform import Platform, Slot, current_platform
from vetrai.core.tenancy import get_scoped, limits_of, scoped
from vetrai.plugins.auth.models import User
from vetrai.plugins.notifications.models import (
    SECURITY,
    Notification,
    NotificationPreference,
    NotificationTemplate,
)
from vetrai.plugins.notifications.settings import NotificationsSettings
from vetrai.plugins.notifications.stream import StreamHub
from vetrai.plugins.notifications.templates import (
    DEFAULT_TEMPLATES,
    SECURITY_TEMPLATES,
    Part,
    TemplateProblem,
    check_template,
    render_parts,
)

log = logging.getLogger("vetrai.notifications")
GLOBAL = "global"
DELIVERY_KIND = "notifications.deliver"
CATEGORIES: dict[str, str] = {
    SECURITY: "Password resets, email verification and password changes (always sent)",
    "account": "Welcome and account messages",
    "support": "Updates of your support tickets",
    "jobs": "Your finished workflow jobs",
    "billing": "Failed payments and billing problems",
    "general": "Messages your organization's administrators send",
}
MAX_DATA_BYTES = 64 * 1024
EXTERNAL_LIMIT = "max_monthly_external_messages"
EXTERNAL_CHANNELS = ("email", "sms")
PHONE = re.compile(r"^\+[1-9][0-9]{6,14}$")
_email_adapter: TypeAdapter[str] = TypeAdapter(EmailStr)


@dataclass
class NotificationsRuntime:
    settings: NotificationsSettings
    channels: dict[str, NotificationChannel]
    hub: StreamHub
    webhook_secret: str
    outbox_dir: Path
    public_url: str
    extra: dict[str, Any] = field(default_factory=dict)


def collect_channels(platform: Platform) -> dict[str, NotificationChannel]:
    channels: dict[str, NotificationChannel] = {}
    owners: dict[str, str] = {}
    for plugin, declared in platform.plugins.call_each("vetrai_notification_channels"):
        for channel in declared or ():
            if not isinstance(channel, NotificationChannel):
                raise PluginError(plugin, "vetrai_notification_channels must return NotificationChannel items")
            if channel.name in channels:
                raise PluginError(
                    plugin, f"notification channel {channel.name!r} is already defined by {owners[channel.name]!r}"
                )
            channels[channel.name] = channel
            owners[channel.name] = plugin
    return channels


RUNTIME: Slot[NotificationsRuntime] = Slot("notifications")


def build_runtime(platform: Platform) -> NotificationsRuntime:
    settings = platform.plugin_settings("notifications", NotificationsSettings)
    return NotificationsRuntime(
        settings=settings,
        channels=collect_channels(platform),
        hub=StreamHub(platform.redis, f"{platform.settings.redis_prefix}notifications:in_app"),
        webhook_secret=platform.settings.secret("notifications_webhook_secret", settings.webhook_secret),
        outbox_dir=settings.outbox_dir or platform.settings.data_dir / "outbox",
        public_url=platform.settings.resolved_public_url,
    )


def runtime(platform: Platform | None = None) -> NotificationsRuntime:
    return (platform or current_platform()).get(RUNTIME)


def now() -> datetime:
    return datetime.now(UTC)


# --- queueing a delivery ---------------------------------------------------------------------


async def create_queued(**fields: Any) -> Notification:
    """Write a queued notification and its outbox message in one transaction (delivered after commit)."""
    async with outbox.transaction() as conn:
        row = await Notification.create(using_db=conn, **fields)
        await outbox.enqueue(
            DELIVERY_KIND,
            {"notification_id": str(row.id)},
            key=str(row.id),
            organization_id=row.organization_id,
            using_db=conn,
        )
    return row


# --- preferences -------------------------------------------------------------------------------


def _matches(rule: dict[str, Any], category: str, channel: str) -> bool:
    return rule.get("category") in ("*", category) and rule.get("channel") in ("*", channel)


async def opted_out(user_id: uuid.UUID | None, category: str, channel: str) -> bool:
    """Whether the user turned this category/channel off; security messages are always sent."""
    if user_id is None or category == SECURITY:
        return False
    preference = await NotificationPreference.get_or_none(user_id=user_id)
    return preference is not None and any(_matches(rule, category, channel) for rule in preference.opt_outs or ())


async def get_preferences(principal: Principal) -> dict[str, Any]:
    _require_user(principal)
    preference = await NotificationPreference.get_or_none(user_id=principal.user_id)
    return _preferences_out(preference.opt_outs if preference else [])


def _preferences_out(opt_outs: list[dict[str, str]]) -> dict[str, Any]:
    return {
        "opt_outs": opt_outs,
        "categories": [
            {"name": name, "description": text, "can_opt_out": name != SECURITY} for name, text in CATEGORIES.items()
        ],
        "channels": sorted(runtime().channels),
    }


async def set_preferences(principal: Principal, opt_outs: list[dict[str, str]]) -> dict[str, Any]:
    _require_user(principal)
    channels = runtime().channels
    errors = []
    for index, rule in enumerate(opt_outs):
        if rule["category"] == SECURITY:
            errors.append(
                {
                    "loc": ["body", "opt_outs", index, "category"],
                    "msg": "security messages cannot be turned off",
                    "type": "value_error",
                }
            )
        elif rule["category"] != "*" and rule["category"] not in CATEGORIES:
            errors.append(
                {
                    "loc": ["body", "opt_outs", index, "category"],
                    "msg": f"unknown category; one of {sorted(CATEGORIES)} or *",
                    "type": "value_error",
                }
            )
        if rule["channel"] != "*" and rule["channel"] not in channels:
            errors.append(
                {
                    "loc": ["body", "opt_outs", index, "channel"],
                    "msg": f"unknown channel; one of {sorted(channels)} or *",
                    "type": "value_error",
                }
            )
    if errors:
        raise unprocessable(errors)
    unique = [dict(rule) for rule in {(r["category"], r["channel"]): r for r in opt_outs}.values()]
    preference = await NotificationPreference.get_or_none(user_id=principal.user_id)
    if preference is None:
        try:
            await NotificationPreference.create(
                user_id=principal.user_id, organization_id=principal.organization_id, opt_outs=unique
            )
        except IntegrityError:
            await NotificationPreference.filter(user_id=principal.user_id).update(opt_outs=unique)
    else:
        preference.opt_outs = unique
        await preference.save(update_fields=["opt_outs", "updated_at"])
    return _preferences_out(unique)


def _require_user(principal: Principal) -> None:
    if principal.user_id is None:
        raise forbidden("only users have an inbox and preferences")


# --- templates ---------------------------------------------------------------------------------


def visible_templates(principal: Principal, **filters: Any) -> QuerySet[NotificationTemplate]:
    """The organization's templates and the global defaults (super_admin: every template)."""
    return scoped(NotificationTemplate, principal, with_global=True, **filters)


async def get_template(principal: Principal, template_id: uuid.UUID | str) -> NotificationTemplate:
    try:
        key = uuid.UUID(str(template_id))
    except ValueError:
        raise not_found("template") from None
    row = await visible_templates(principal).get_or_none(id=key)
    if row is None:
        raise not_found("template")
    return row


def _check_sources(subject: str | None, body: str | None, html: str | None) -> None:
    check_template(subject, field="subject")
    check_template(body, field="body")
    check_template(html, html=True, field="html")


def _refuse_security_name(name: str | None, row: NotificationTemplate | None = None) -> None:
    """Security mail is never rendered from an organization's template: such names are reserved."""
    is_global = row is not None and row.organization_id is None
    if name in SECURITY_TEMPLATES and not is_global:
        raise field_error(
            "name",
            f"{name!r} is a security message rendered only from the platform's own template; "
            f"reserved names: {sorted(SECURITY_TEMPLATES)}",
        )


async def _check_fields(channel: str | None, subject: str | None, body: str | None, html: str | None) -> None:
    if channel is not None and channel not in runtime().channels:
        raise field_error("channel", f"unknown channel; one of {sorted(runtime().channels)}")
    try:
        await asyncio.to_thread(_check_sources, subject, body, html)
    except TemplateProblem as exc:
        field_name = str(exc).split(":", 1)[0]
        raise field_error(field_name, str(exc), type="template_error", detail=f"invalid template: {exc}") from None


async def create_template(principal: Principal, values: dict[str, Any]) -> NotificationTemplate:
    _refuse_security_name(values["name"])
    await _check_fields(values["channel"], values.get("subject"), values["body"], values.get("html"))
    try:
        return await NotificationTemplate.create(
            organization_id=principal.organization_id, owner_key=str(principal.organization_id), **values
        )
    except IntegrityError:
        raise conflict("a template with this name, channel and locale already exists") from None


def _ensure_changeable(principal: Principal, row: NotificationTemplate) -> None:
    if row.organization_id is None and not principal.is_super_admin:
        raise forbidden("global default templates are read-only; create one with the same name to override it")


async def update_template(principal: Principal, template_id: str, changes: dict[str, Any]) -> NotificationTemplate:
    row = await get_template(principal, template_id)
    _ensure_changeable(principal, row)
    for name in ("name", "channel", "locale", "body"):
        if name in changes and changes[name] is None:
            raise field_error(name, "may not be null")
    _refuse_security_name(changes.get("name", row.name), row)
    if (
        row.organization_id is None
        and "name" in changes
        and (changes["name"] in SECURITY_TEMPLATES) != (row.name in SECURITY_TEMPLATES)
    ):
        raise field_error("name", "a security template keeps its name, and no other template may take one")
    await _check_fields(changes.get("channel"), changes.get("subject"), changes.get("body"), changes.get("html"))
    for name, value in changes.items():
        setattr(row, name, value)
    try:
        await row.save()
    except IntegrityError:
        raise conflict("a template with this name, channel and locale already exists") from None
    return row


async def delete_template(principal: Principal, template_id: str) -> None:
    row = await get_template(principal, template_id)
    _ensure_changeable(principal, row)
    await row.delete()


def _builtin_template(name: str, channel: str) -> NotificationTemplate | None:
    for default in DEFAULT_TEMPLATES:
        if default.name == name and default.channel == channel:
            return NotificationTemplate(
                organization_id=None,
                owner_key=GLOBAL,
                name=name,
                channel=channel,
                locale="en",
                subject=default.subject,
                body=default.body,
                html=default.html,
            )
    return None


async def find_template(
    organization_id: uuid.UUID, name: str, channel: str, locale: str
) -> NotificationTemplate | None:
    """The organization's template, else the global default; the locale, else English.

    Security messages (password reset, verification, password changed, new login) carry
    live credentials, so they come only from the platform's global template (or the built-in
    one): an organization's template of that name is never used, whoever created it.
    """
    owners = [GLOBAL] if name in SECURITY_TEMPLATES else [str(organization_id), GLOBAL]
    candidates = await NotificationTemplate.filter(
        owner_key__in=owners,
        name=name,
        channel=channel,
        locale__in=list(dict.fromkeys([locale, "en"])),
    )

    def rank(row: NotificationTemplate) -> tuple[int, int]:
        return (0 if row.owner_key != GLOBAL else 1, 0 if row.locale == locale else 1)

    if candidates:
        return min(candidates, key=rank)
    return _builtin_template(name, channel) if name in SECURITY_TEMPLATES else None


async def render_template(
    template: NotificationTemplate, context: dict[str, Any], channel: str
) -> tuple[str | None, str, str | None]:
    """Subject, text and HTML of ``template``, rendered off the event loop under one deadline."""
    parts = [Part("body", template.body)]
    if template.subject:
        parts.insert(0, Part("subject", template.subject))
    if template.html and channel == "email":
        parts.append(Part("html", template.html, html=True))
    rendered = dict(zip([part.field for part in parts], await render_parts(parts, context), strict=True))
    return rendered.get("subject"), rendered["body"], rendered.get("html")


async def seed_default_templates() -> int:
    """Create the shipped global templates that are missing (edited ones are kept)."""
    created = 0
    for default in DEFAULT_TEMPLATES:
        if await NotificationTemplate.exists(owner_key=GLOBAL, name=default.name, channel=default.channel, locale="en"):
            continue
        try:
            await NotificationTemplate.create(
                organization_id=None,
                owner_key=GLOBAL,
                name=default.name,
                channel=default.channel,
                locale="en",
                subject=default.subject,
                body=default.body,
                html=default.html,
            )
            created += 1
        except IntegrityError:
            pass  # another process seeded it at the same time
    return created


# --- sending and the inbox -------------------------------------------------------------------


def _validate_target(channel: str, recipient: User | None, to: str | None) -> str | None:
    if channel == "in_app":
        if recipient is None:
            raise field_error("recipient_id", "in_app notifications need a recipient_id")
        if to is not None:
            raise field_error("to", "in_app notifications go to a user: leave 'to' out")
        return None
    if recipient is None and not to:
        raise field_error("to", "give a recipient_id or a 'to' address")
    if to is None:
        if channel in ("sms", "webhook"):
            raise field_error("to", f"{channel} notifications need 'to'")
        return None
    if channel == "email":
        try:
            return _email_adapter.validate_python(to)
        except ValidationError:
            raise field_error("to", "not a valid email address") from None
    if channel == "sms" and not PHONE.match(to):
        raise field_error("to", "an E.164 phone number such as +14155550100")
    if channel == "webhook":
        try:
            url = httpx.URL(to)
        except Exception:
            raise field_error("to", "not a valid URL") from None
        if url.scheme not in ("http", "https") or not url.host:
            raise field_error("to", "an http:// or https:// URL")
    return to


async def send_notification(principal: Principal, values: dict[str, Any]) -> tuple[Notification, bool]:
    """Queue an arbitrary notification (admins); an idempotency key returns the first one."""
    channel, category = _checked_channel_and_category(values)
    recipient = await _checked_recipient(principal, values)
    to = _validate_target(channel, recipient, values.get("to"))
    organization_id = recipient.organization_id if recipient is not None else principal.organization_id
    if organization_id is None:
        raise field_error("recipient_id", "a notification belongs to an organization: name a recipient")
    template = await _checked_template(principal, values, channel, organization_id)
    if len(json.dumps(values.get("data") or {}, default=str)) > MAX_DATA_BYTES:
        raise field_error("data", f"larger than {MAX_DATA_BYTES} bytes as JSON")
    key = values.get("idempotency_key")
    if key:
        existing = await Notification.get_or_none(organization_id=organization_id, idempotency_key=key)
        if existing is not None:
            return existing, False
    external = await _is_external(organization_id, channel, recipient, to)
    fields = {
        "organization_id": organization_id,
        "external": external,
        "user_id": recipient.id if recipient is not None else None,
        "to": to,
        "channel": channel,
        "category": category,
        "data": values.get("data") or {},
        "idempotency_key": key,
        "created_by_id": principal.user_id,
        "locale": values.get("locale") or "en",
    }
    if template is not None:
        fields.update(template_id=template.id, template_name=template.name)
    else:
        fields.update(subject=values.get("subject"), body=values["body"], rendered=True)
    return await _insert_once(organization_id, key, external, fields)


def _checked_channel_and_category(values: dict[str, Any]) -> tuple[str, str]:
    """Security notifications are the platform's own: an admin cannot send one."""
    rt = runtime()
    channel: str = values["channel"]
    if channel not in rt.channels:
        raise field_error("channel", f"unknown channel; one of {sorted(rt.channels)}")
    category: str = values.get("category") or "general"
    if category not in CATEGORIES or category == SECURITY:
        raise field_error("category", f"one of {sorted(set(CATEGORIES) - {SECURITY})}")
    return channel, category


async def _checked_recipient(principal: Principal, values: dict[str, Any]) -> User | None:
    if values.get("recipient_id") is None:
        return None
    recipient = await scoped(User, principal).get_or_none(id=values["recipient_id"], is_active=True)
    if recipient is None:
        raise field_error("recipient_id", "not an active user of your organization")
    return recipient


async def _checked_template(
    principal: Principal, values: dict[str, Any], channel: str, organization_id: uuid.UUID
) -> NotificationTemplate | None:
    """The named template (for this channel, not a security one), or None when a body is given."""
    if values.get("template_id") is None:
        if not values.get("body"):
            raise field_error("body", "give a template_id or a body")
        return None
    template = await visible_templates(principal).get_or_none(id=values["template_id"])
    if template is None or (template.organization_id not in (None, organization_id)):
        raise field_error("template_id", "unknown template")
    if template.channel != channel:
        raise field_error("template_id", f"the template is for the {template.channel} channel")
    if template.name in SECURITY_TEMPLATES:
        raise field_error("template_id", "security templates are sent by the platform only")
    return template


async def _insert_once(
    organization_id: uuid.UUID, key: str | None, external: bool, fields: dict[str, Any]
) -> tuple[Notification, bool]:
    """Insert the row; a concurrent send with the same idempotency key that won answers instead."""
    try:
        if external:
            row = await _create_external(organization_id, fields)
        else:
            row = await create_queued(**fields)
    except IntegrityError:
        existing = await Notification.get_or_none(organization_id=organization_id, idempotency_key=key)
        if existing is None:
            raise
        return existing, False
    return row, True


async def _is_external(organization_id: uuid.UUID, channel: str, recipient: User | None, to: str | None) -> bool:
    """Email or SMS to an address that is not an active member's: the platform relaying mail."""
    if channel not in EXTERNAL_CHANNELS or to is None:
        return False
    if channel == "email":
        if recipient is not None and recipient.email == to.strip().lower():
            return False
        return not await User.filter(organization_id=organization_id, email=to.strip().lower(), is_active=True).exists()
    return True


def month_start(at: datetime | None = None) -> datetime:
    at = at or now()
    return at.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


async def _create_external(organization_id: uuid.UUID, fields: dict[str, Any]) -> Notification:
    """Create an external message within the plan's monthly allowance (403 quota-exceeded past it).

    The organization row is locked while counting, so concurrent sends cannot both take the
    last message of the allowance (PostgreSQL; SQLite serializes writers anyway).
    """
    async with outbox.transaction():
        organization = await Organization.filter(id=organization_id).select_for_update().get()
        if organization.is_platform:
            return await create_queued(**fields)
        maximum = limits_of(organization)[EXTERNAL_LIMIT]
        used = await Notification.filter(
            organization_id=organization_id, external=True, created_at__gte=month_start()
        ).count()
        if used + 1 > maximum:
            raise quota_exceeded(
                f"{EXTERNAL_LIMIT} of the {organization.plan!r} plan is {maximum} per month: email and SMS to "
                "addresses outside the organization need a plan that includes them (members are always reachable)",
                limit=EXTERNAL_LIMIT,
                maximum=maximum,
                current=used,
            )
        return await create_queued(**fields)


async def queue_system(
    organization_id: uuid.UUID,
    *,
    channel: str,
    template_name: str,
    category: str,
    event: str,
    data: dict[str, Any],
    idempotency_key: str,
    user_id: uuid.UUID | None = None,
    to: str | None = None,
) -> Notification | None:
    """A system notification from a domain event, unless the user opted out; deduplicated by key."""
    if channel not in runtime().channels:
        return None
    if await opted_out(user_id, category, channel):
        log.info("user %s opted out of %s by %s", user_id, category, channel)
        return None
    try:
        row = await create_queued(
            organization_id=organization_id,
            user_id=user_id,
            to=to,
            channel=channel,
            category=category,
            event=event,
            template_name=template_name,
            data=data,
            idempotency_key=idempotency_key[:200],
        )
    except IntegrityError:
        return None
    return row


def visible_notifications(principal: Principal, **filters: Any) -> QuerySet[Notification]:
    """Admins see the organization's notifications, everyone else only their own."""
    if principal.is_admin:
        return scoped(Notification, principal, **filters)
    if principal.user_id is None:
        return Notification.filter(id=None)
    # A non-admin's own filters (e.g. recipient_id) narrow their inbox further, never widen it.
    return scoped(Notification, principal, **filters).filter(user_id=principal.user_id)


async def get_notification(principal: Principal, notification_id: str) -> Notification:
    if principal.is_admin:
        return await get_scoped(Notification, principal, notification_id)
    return await get_scoped(Notification, principal, notification_id, user_id=principal.user_id)


async def mark_read(principal: Principal, notification_id: str) -> None:
    row = await get_notification(principal, notification_id)
    if row.user_id is None or row.user_id != principal.user_id:
        raise forbidden("only the recipient can mark a notification read")
    if row.read_at is None:
        await Notification.filter(id=row.id, read_at=None).update(read_at=now())
        await Notification.filter(id=row.id, status="sent").update(status="read")


async def mark_all_read(principal: Principal) -> int:
    _require_user(principal)
    current = now()
    count = await Notification.filter(user_id=principal.user_id, read_at=None).update(read_at=current)
    await Notification.filter(user_id=principal.user_id, status="sent", read_at__not_isnull=True).update(status="read")
    return count


async def in_app_since(principal: Principal, last_id: str, limit: int = 100) -> list[Notification]:
    """The user's delivered in-app notifications newer than ``last_id`` (for an SSE reconnect)."""
    try:
        key = uuid.UUID(last_id)
    except ValueError:
        return []
    last = await Notification.get_or_none(id=key, user_id=principal.user_id)
    if last is None:
        return []
    return list(
        await Notification.filter(
            Q(created_at__gt=last.created_at) | Q(created_at=last.created_at, id__gt=last.id),
            user_id=principal.user_id,
            channel="in_app",
            status__in=["sent", "read"],
        )
        .order_by("created_at", "id")
        .limit(limit)
    )
