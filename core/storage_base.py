"""What every storage backend shares: the protocol, its error, the chunk size, download names.

The backends (``vetrai.core.storage`` for files and the factory, ``vetrai.core.storage_s3``)
import this module; it imports none of them, so the factory can import the S3 backend.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import AsyncIterator
from typing import Protocol
from urllib.parse import quote

CHUNK = 64 * 1024


def attachment_disposition(filename: str) -> str:
    """``Content-Disposition: attachment`` with an ASCII fallback name and the RFC 5987 UTF-8 name."""
    fallback = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode()
    fallback = re.sub(r"[^A-Za-z0-9._ ()\-+,=@!#$&^~]", "_", fallback).strip() or "download"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


class StorageError(RuntimeError):
    """The backend failed; callers turn it into a 5xx problem or a retry."""


class Storage(Protocol):
    async def put(self, key: str, chunks: AsyncIterator[bytes], content_type: str) -> int:
        """Store the stream under ``key``; returns the byte count."""

    def open(self, key: str) -> AsyncIterator[bytes]:
        """Stream the object's bytes; raises FileNotFoundError when missing."""

    async def delete(self, key: str) -> None: ...

    async def delete_prefix(self, prefix: str) -> int:
        """Delete every object whose key starts with ``prefix`` (an organization's ``org/<id>/``)."""

    async def presigned_url(self, key: str, expires_seconds: int, filename: str) -> str | None:
        """A short-lived direct download URL, or None when the backend has none."""

    async def check(self) -> None:
        """Raise StorageError when the backend cannot be reached (readiness probe)."""

    async def close(self) -> None: ...
