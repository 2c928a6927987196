"""Attachment helpers with no HTTP or database in them: sniffing, file names, headers.

The content type of an attachment is decided from its first bytes, never from what the client
declared, so a page uploaded as ``image/png`` is refused as ``text/html`` instead of being
served back to a browser; the file name is only ever shown, never used as a storage key.
"""

from __future__ import annotations

import re
import unicodedata

from vetrai.core.storage import attachment_disposition

SNIFF_BYTES = 4096

_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"%PDF-", "application/pdf"),
    (b"PK\x03\x04", "application/zip"),
    (b"PK\x05\x06", "application/zip"),
    (b"\x1f\x8b", "application/gzip"),
    (b"7z\xbc\xaf\x27\x1c", "application/x-7z-compressed"),
    (b"MZ", "application/x-msdownload"),
    (b"\x7fELF", "application/x-executable"),
)
_MARKUP = (
    (b"<!doctype html", "text/html"),
    (b"<html", "text/html"),
    (b"<head", "text/html"),
    (b"<body", "text/html"),
    (b"<script", "text/html"),
    (b"<iframe", "text/html"),
    (b"<svg", "image/svg+xml"),
    (b"<?xml", "application/xml"),
)
_UNSAFE_NAME_CHARS = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*;]')


def sniff_content_type(head: bytes) -> str:
    """The type the first bytes of a file show (the WHATWG sniffing idea, reduced to a whitelist's needs)."""
    for signature, content_type in _SIGNATURES:
        if head.startswith(signature):
            return content_type
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if not head:
        return "text/plain"
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n\x0c").lower()
    for marker, content_type in _MARKUP:
        if stripped.startswith(marker):
            return content_type
    if b"\x00" in head:
        return "application/octet-stream"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # a multi-byte character cut at the end of the sniffed window is still text
        if exc.start < len(head) - 3:
            return "application/octet-stream"
    if re.search(rb"<\s*(script|html|iframe|svg|object|embed)\b", head.lower()):
        return "text/html"
    return "text/plain"


_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
"""Controls, format characters (bidi overrides such as U+202E, zero-width joiners), surrogates,
private-use and unassigned code points, line and paragraph separators: none belong in a name
shown to people, and bidi overrides make ``invoice\u202efdp.exe`` look like ``invoiceexe.pdf``."""


def sanitize_filename(name: str | None, fallback: str = "attachment") -> str:
    """A display name: no directories, control/bidi/invisible characters, reserved characters or leading dots."""
    name = unicodedata.normalize("NFC", name or "")
    # ASCII controls become "_" below (visible where they were); every other invisible one goes.
    name = "".join(char for char in name if char < "\x80" or unicodedata.category(char) not in _INVISIBLE_CATEGORIES)
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = _UNSAFE_NAME_CHARS.sub("_", name).strip().lstrip(".").strip()
    if not name or set(name) <= {"_", "."}:
        return fallback
    if len(name) > 200:
        stem, dot, extension = name.rpartition(".")
        extension = extension[:20] if dot and stem else ""
        name = (stem if dot and stem else name)[: 200 - len(extension) - 1] + (f".{extension}" if extension else "")
    return name


def content_disposition(filename: str) -> str:
    """``attachment`` with an ASCII fallback and the RFC 5987 UTF-8 name (as on S3 downloads)."""
    return attachment_disposition(filename)
