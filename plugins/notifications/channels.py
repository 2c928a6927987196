"""The built-in delivery channels: email, in_app, webhook, sms and push.

A channel is a ``NotificationChannel(name, send, description)`` from the
``vetrai_notification_channels`` hook; ``send(message)`` gets a rendered
``NotificationMessage`` and returns when the channel accepted it. It raises
``TemporaryDeliveryError`` for failures worth retrying (SMTP 4xx, connection refused,
timeouts, HTTP 5xx/408/429) and ``DeliveryError`` (both from ``vetrai.core.hooks``) or anything
else for a permanent failure, whose text is recorded on the notification.

SMS and push have no provider built in: they POST a signed JSON request to the provider
endpoint configured in ``VETRAI_NOTIFICATIONS_SMS_WEBHOOK_URL`` /
``VETRAI_NOTIFICATIONS_PUSH_WEBHOOK_URL`` (a small adapter in front of Twilio, FCM, ...).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import aiosmtplib
import httpx

from vetrai import __version__
from vetrai.core import outbound
from vetrai.core.hooks import DeliveryError, NotificationChannel, TemporaryDeliveryError
from vetrai.plugins.notifications.templates import text_to_html

if TYPE_CHECKING:
    from vetrai.plugins.notifications.service import NotificationsRuntime

log = logging.getLogger("vetrai.notifications")


@dataclass(frozen=True)
class NotificationMessage:
    """What a channel sends: one rendered notification to one recipient."""

    id: uuid.UUID
    organization_id: uuid.UUID
    channel: str
    to: str | None
    user_id: uuid.UUID | None
    subject: str | None
    body: str
    html: str | None
    category: str
    event: str | None
    attempt: int
    created_at: datetime
    data: dict[str, Any] = field(default_factory=dict)

    def payload(self) -> dict[str, Any]:
        """The JSON document webhook-style channels send."""
        return {
            "id": str(self.id),
            "organization_id": str(self.organization_id),
            "channel": self.channel,
            "to": self.to,
            "recipient_id": str(self.user_id) if self.user_id else None,
            "category": self.category,
            "event": self.event,
            "subject": self.subject,
            "body": self.body,
            "data": self.data,
            "attempt": self.attempt,
            "created_at": self.created_at.isoformat(),
        }


def _runtime() -> NotificationsRuntime:
    from vetrai.plugins.notifications.service import runtime

    return runtime()


# --- email -------------------------------------------------------------------------------


def build_email(message: NotificationMessage, sender: str) -> EmailMessage:
    """A multipart/alternative email: the text body and an HTML part (given or derived)."""
    email = EmailMessage()
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    email["From"] = sender
    email["To"] = message.to or ""
    email["Subject"] = " ".join((message.subject or "").split())  # no header injection by a rendered subject
    email["Date"] = formatdate(usegmt=True)
    email["Message-ID"] = make_msgid(idstring=message.id.hex, domain=domain)
    email["Auto-Submitted"] = "auto-generated"
    email["X-VetrAI-Notification-Id"] = str(message.id)
    email.set_content(message.body)
    email.add_alternative(message.html or text_to_html(message.body), subtype="html")
    return email


def _write_eml(folder: Path, name: str, data: bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    temporary = folder / f".{name}.tmp"
    temporary.write_bytes(data)
    os.replace(temporary, target)
    return target


async def send_email(message: NotificationMessage) -> None:
    """SMTP with aiosmtplib, or an .eml file in the outbox folder when no SMTP host is set."""
    rt = _runtime()
    settings = rt.settings
    if not message.to:
        raise DeliveryError("the recipient has no email address")
    email = build_email(message, settings.smtp_from)
    if not settings.smtp_host:
        name = f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{message.id}.eml"
        path = await asyncio.to_thread(_write_eml, rt.outbox_dir, name, email.as_bytes())
        log.info("email written to the outbox %s (no SMTP host configured)", path)
        return
    implicit_tls = settings.smtp_port == 465
    try:
        await aiosmtplib.send(
            email,
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username,
            password=settings.smtp_password,
            use_tls=implicit_tls,
            start_tls=False if implicit_tls else settings.smtp_starttls,
            timeout=settings.smtp_timeout_seconds,
        )
    except aiosmtplib.SMTPRecipientsRefused as exc:
        codes = [refused.code for refused in exc.recipients]
        text = "; ".join(f"{refused.code} {refused.message}" for refused in exc.recipients)
        if codes and all(400 <= code < 500 for code in codes):
            raise TemporaryDeliveryError(f"SMTP recipient refused for now: {text}") from None
        raise DeliveryError(f"SMTP recipient refused: {text}") from None
    except aiosmtplib.SMTPResponseException as exc:
        if 400 <= exc.code < 500:
            raise TemporaryDeliveryError(f"SMTP {exc.code}: {exc.message}") from None
        raise DeliveryError(f"SMTP {exc.code}: {exc.message}") from None
    except (
        aiosmtplib.SMTPConnectError,
        aiosmtplib.SMTPServerDisconnected,
        aiosmtplib.SMTPTimeoutError,
        OSError,
        TimeoutError,
    ) as exc:
        raise TemporaryDeliveryError(f"SMTP server unreachable: {exc}") from None
    except aiosmtplib.SMTPException as exc:
        raise DeliveryError(f"SMTP: {exc}") from None


# --- in_app ------------------------------------------------------------------------------


async def send_in_app(message: NotificationMessage) -> None:
    """Stored already; the delivery task streams it to the user's open connections once sent."""
    if message.user_id is None:
        raise DeliveryError("in_app notifications need a recipient user")


# --- signed HTTP (webhook, sms, push) ------------------------------------------------------


async def ensure_public_host(url: str) -> None:
    """Refuse URLs whose host resolves to loopback, private, link-local or reserved addresses."""
    try:
        await outbound.ensure_public_host(url)
    except outbound.PrivateAddressError as exc:
        raise DeliveryError(f"{exc}; set VETRAI_NOTIFICATIONS_WEBHOOK_ALLOW_PRIVATE=true to allow it") from None
    except OSError as exc:
        raise TemporaryDeliveryError(f"cannot resolve {urlsplit(url).hostname}: {exc}") from None


async def post_signed(url: str, payload: dict[str, Any], notification_id: uuid.UUID, *, check_host: bool) -> None:
    """POST signed JSON; 2xx is delivered, 5xx/408/429/network errors retry, other codes fail."""
    rt = _runtime()
    allow_private = not check_host or rt.settings.webhook_allow_private
    if not allow_private:
        await ensure_public_host(url)
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True, default=str).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": f"VetrAI-Notifications/{__version__}",
        **outbound.signature_headers(rt.webhook_secret, body),
        "X-VetrAI-Notification-Id": str(notification_id),
        "Idempotency-Key": str(notification_id),
    }
    try:
        # A client per call: deliveries may still run while the plugin shuts down. The guarded
        # client checks the address it connects to, so a name that changed its answer since
        # ensure_public_host (DNS rebinding) is still refused.
        async with outbound.guarded_client(
            timeout=rt.settings.webhook_timeout_seconds, allow_private=allow_private
        ) as client:
            response = await client.post(url, content=body, headers=headers)
    except outbound.PrivateAddressError as exc:
        raise DeliveryError(f"{exc}; set VETRAI_NOTIFICATIONS_WEBHOOK_ALLOW_PRIVATE=true to allow it") from None
    except OSError as exc:
        raise TemporaryDeliveryError(f"cannot resolve {urlsplit(url).hostname}: {exc}") from None
    except httpx.TransportError as exc:
        raise TemporaryDeliveryError(f"POST {urlsplit(url).netloc} failed: {type(exc).__name__}: {exc}") from None
    if response.is_success:
        return
    status = response.status_code
    summary = f"POST {urlsplit(url).netloc} answered {status}: {response.text[:200]}"
    if status >= 500 or status in (408, 425, 429):
        raise TemporaryDeliveryError(summary)
    raise DeliveryError(summary)


async def send_webhook(message: NotificationMessage) -> None:
    if not message.to:
        raise DeliveryError("webhook notifications need a URL in 'to'")
    await post_signed(message.to, message.payload(), message.id, check_host=True)


async def send_sms(message: NotificationMessage) -> None:
    url = _runtime().settings.sms_webhook_url
    if not url:
        raise DeliveryError("no SMS provider is configured (VETRAI_NOTIFICATIONS_SMS_WEBHOOK_URL)")
    if not message.to:
        raise DeliveryError("sms notifications need a phone number in 'to'")
    payload = {
        "id": str(message.id),
        "to": message.to,
        "body": message.body,
        "organization_id": str(message.organization_id),
    }
    await post_signed(url, payload, message.id, check_host=False)


async def send_push(message: NotificationMessage) -> None:
    url = _runtime().settings.push_webhook_url
    if not url:
        raise DeliveryError("no push provider is configured (VETRAI_NOTIFICATIONS_PUSH_WEBHOOK_URL)")
    payload = {
        "id": str(message.id),
        "to": message.to,
        "user_id": str(message.user_id) if message.user_id else None,
        "title": message.subject,
        "body": message.body,
        "data": message.data,
        "organization_id": str(message.organization_id),
    }
    await post_signed(url, payload, message.id, check_host=False)


BUILTIN_CHANNELS = (
    NotificationChannel(
        "email", send_email, "Email over SMTP (aiosmtplib), or .eml files in the outbox folder without SMTP"
    ),
    NotificationChannel("in_app", send_in_app, "The user's inbox in the API, streamed live over Server-Sent Events"),
    NotificationChannel("webhook", send_webhook, "A signed JSON POST (HMAC-SHA256) to the URL in 'to'"),
    NotificationChannel("sms", send_sms, "A signed JSON POST to the configured SMS provider endpoint"),
    NotificationChannel("push", send_push, "A signed JSON POST to the configured push provider endpoint"),
)
