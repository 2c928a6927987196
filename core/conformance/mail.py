"""Reading the email a test caused: a real SMTP server on loopback, and the .eml outbox folder."""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from vetrai.core.conformance.backend import free_port


def _matches(message: EmailMessage, to: str | None, subject: str | None) -> bool:
    if to is not None and to.lower() not in str(message.get("To", "")).lower():
        return False
    if subject is not None and subject.lower() not in str(message.get("Subject", "")).lower():
        return False
    return True


def body_text(message: EmailMessage, subtype: str = "plain") -> str:
    """The text (or ``subtype="html"``) part of a message, '' if it has none."""
    part = message.get_body(preferencelist=(subtype,))
    return part.get_content() if part is not None else ""


class _Mail(ABC):
    """Where a test's email ends up; ``wait_for`` polls ``find`` until a message is there."""

    @abstractmethod
    def find(self, to: str | None = None, subject: str | None = None) -> list[EmailMessage]:
        """The messages kept so far, oldest first, filtered like ``wait_for``."""

    @abstractmethod
    def _where(self) -> str:
        """Where the messages were looked for, for the failure message."""

    async def wait_for(self, to: str | None = None, subject: str | None = None, timeout: float = 5.0) -> EmailMessage:
        """The first message to ``to`` (substring of To) and/or with ``subject`` (substring)."""
        import asyncio

        deadline = time.monotonic() + timeout
        while True:
            found = self.find(to, subject)
            if found:
                return found[0]
            if time.monotonic() > deadline:
                raise AssertionError(f"no email to={to!r} subject={subject!r} within {timeout}s {self._where()}")
            await asyncio.sleep(0.02)


class SmtpServer(_Mail):
    """An aiosmtpd server on 127.0.0.1 (its own thread) that keeps every message it receives.

    ``fail_next(n, code=451)`` answers the next ``n`` messages with a temporary (4xx) or permanent
    (5xx) error, to test retries. ``env`` holds the settings to point a mailer at it.
    """

    def __init__(self) -> None:
        self.host = "127.0.0.1"
        self.port = free_port()
        self.messages: list[EmailMessage] = []
        self.envelopes: list[Any] = []
        self._failures: list[int] = []
        self._lock = threading.Lock()
        self._controller: Any = None

    @property
    def env(self) -> dict[str, str]:
        return {"VETRAI_SMTP_HOST": self.host, "VETRAI_SMTP_PORT": str(self.port), "VETRAI_SMTP_STARTTLS": "false"}

    def fail_next(self, count: int = 1, code: int = 451) -> None:
        with self._lock:
            self._failures.extend([code] * count)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self._lock:
            if self._failures:
                code = self._failures.pop(0)
                return f"{code} {'try again later' if code < 500 else 'rejected'}"
            self.envelopes.append(envelope)
            self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"

    def start(self) -> SmtpServer:
        from aiosmtpd.controller import Controller

        self._controller = Controller(self, hostname=self.host, port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def find(self, to: str | None = None, subject: str | None = None) -> list[EmailMessage]:
        with self._lock:
            return [message for message in self.messages if _matches(message, to, subject)]

    def _where(self) -> str:
        return f"({len(self.messages)} received)"


class Outbox(_Mail):
    """The .eml files the server wrote instead of sending (no SMTP host configured)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def paths(self) -> list[Path]:
        if not self.folder.exists():
            return []
        return sorted(self.folder.rglob("*.eml"), key=lambda path: (path.stat().st_mtime_ns, path.name))

    @property
    def messages(self) -> list[EmailMessage]:
        return [message_from_bytes(path.read_bytes(), policy=policy.default) for path in self.paths()]

    def find(self, to: str | None = None, subject: str | None = None) -> list[EmailMessage]:
        return [message for message in self.messages if _matches(message, to, subject)]

    def _where(self) -> str:
        return f"in the outbox {self.folder}"
