"""Requests the server sends to URLs its users chose (webhooks): signatures and address checks.

A user-supplied URL must not reach the server's own network (cloud metadata, the database,
Redis), so hosts that resolve to loopback, private, link-local or reserved addresses are
refused unless a deployment allows them; the check runs at every delivery, because what a
name resolves to can change after it was accepted.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
from urllib.parse import urlsplit


class PrivateAddressError(ValueError):
    """The URL has no host, or its host resolves to an address inside a private network."""


def hmac_sha256_hex(secret: str, timestamp: str, body: bytes) -> str:
    """HMAC-SHA256 over ``"<timestamp>." + body``: the timestamp is signed so replays age out."""
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def _is_private(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


async def ensure_public_host(url: str) -> None:
    """Raise PrivateAddressError for a private destination; OSError when the name does not resolve."""
    host = urlsplit(url).hostname
    if not host:
        raise PrivateAddressError("the URL has no host")
    try:
        addresses = [ipaddress.ip_address(host).compressed]
    except ValueError:
        infos = await asyncio.get_running_loop().getaddrinfo(host, None)
        addresses = [info[4][0] for info in infos]
    if any(_is_private(address) for address in addresses):
        raise PrivateAddressError(f"{host} resolves to a private or loopback address")
