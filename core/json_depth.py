"""Refuse deeply nested JSON bodies before anything parses them.

``json.loads`` and pydantic recurse once per nesting level, so a body of a few kilobytes
nested a thousand deep raised ``RecursionError`` (a 500) in the parser or the validation.
Every JSON request body is measured first, on its bytes: strings are blanked out, everything
but brackets is dropped, and innermost pairs are removed one level per pass, at C speed;
a body that still holds brackets after ``MAX_JSON_DEPTH`` passes is refused with a 400.
"""

from __future__ import annotations

import re

MAX_JSON_DEPTH = 64
"""Deepest nesting of objects and arrays accepted in a JSON request body."""
THREAD_ABOVE_BYTES = 1024 * 1024
"""Bodies larger than this are measured in a worker thread, off the event loop."""

_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKETS = bytes(set(range(256)) - set(b"[]{}"))
_INNERMOST = re.compile(rb"[\[{][\]}]")


def too_deep(data: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether the JSON text ``data`` nests objects/arrays deeper than ``limit`` (malformed: as deep)."""
    if data.count(b"[") + data.count(b"{") <= limit:
        return False
    brackets = _STRING.sub(b'""', data).translate(None, _NOT_BRACKETS)
    for level in range(limit):
        brackets, removed = _INNERMOST.subn(b"", brackets)
        if not brackets:
            return False
        if not removed:
            # Unbalanced (malformed) JSON: the parser would still descend into what is left open.
            return level + brackets.count(b"[") + brackets.count(b"{") > limit
    return True
