"""The key format: ``vk_`` + 30 base62 characters (178 bits) + a 6-character CRC32 checksum.

The checksum lets secret scanners (and our own authenticate hook, before any database work)
tell a real key from a typo or a random string offline; it is not a secret.
"""

from __future__ import annotations

import secrets
import string
import zlib

from vetrai.core.security import constant_time_equals

PREFIX = "vk_"
ALPHABET = string.digits + string.ascii_uppercase + string.ascii_lowercase
RANDOM_LENGTH = 30
CHECKSUM_LENGTH = 6
KEY_LENGTH = len(PREFIX) + RANDOM_LENGTH + CHECKSUM_LENGTH
DISPLAY_PREFIX_LENGTH = len(PREFIX) + 8
_ALLOWED = frozenset(ALPHABET)


def _base62(number: int, width: int) -> str:
    digits = []
    while number:
        number, rest = divmod(number, 62)
        digits.append(ALPHABET[rest])
    return "".join(reversed(digits)).rjust(width, ALPHABET[0])


def checksum(body: str) -> str:
    """CRC32 of ``vk_<random>`` in six base62 characters."""
    return _base62(zlib.crc32(body.encode()), CHECKSUM_LENGTH)


def generate_key() -> str:
    body = PREFIX + "".join(secrets.choice(ALPHABET) for _ in range(RANDOM_LENGTH))
    return body + checksum(body)


def well_formed(key: str) -> bool:
    """Length, alphabet and checksum; no database work, comparison in constant time."""
    if len(key) != KEY_LENGTH or not key.startswith(PREFIX) or not _ALLOWED.issuperset(key[len(PREFIX) :]):
        return False
    return constant_time_equals(checksum(key[:-CHECKSUM_LENGTH]), key[-CHECKSUM_LENGTH:])


def display_prefix(key: str) -> str:
    return key[:DISPLAY_PREFIX_LENGTH]
