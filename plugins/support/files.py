"""Attachment helpers with no HTTP or database in them: sniffing, file names, headers.

The content type of an attachment is decided from its first bytes, never from what the client
declared, so a page uploaded as ``image/png`` is refused as ``text/html`` instead of being
served back to a browser; the file name is only ever shown, never used as a storage key.
"""

from __future__ import annotations

import re
import unicodedata

from vetrai.core.filetypes import SNIFF_BYTES as SNIFF_BYTES
from vetrai.core.filetypes import sniff_content_type as sniff_content_type
from vetrai.core.storage import attachment_disposition

_UNSAFE_NAME_CHARS = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*;]')


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
