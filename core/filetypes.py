"""What a file is, judged by its first bytes: the one sniffing helper for every upload.

A client's declared content type and file name are never trusted: a page uploaded as
``image/png`` is sniffed as ``text/html`` and refused, instead of being served to a browser.
"""

from __future__ import annotations

import re

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
    (b"\x00\x00\x01\x00", "image/x-icon"),
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
